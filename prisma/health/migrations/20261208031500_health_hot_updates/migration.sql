-- Room on each page for the next version of a row (storage parameters, outside Prisma's schema):
-- every input event rewrites a customer's input row and current health, and an update whose new
-- version fits on the row's page and changes no indexed column is a HOT update, which writes no
-- index entry and whose dead versions are pruned in place. At the default fillfactor (100) the
-- pages are full, so nearly every update went to another page and into every index (bench:events:
-- 8 % of the input rows' updates HOT). Applies to pages written from now on.
ALTER TABLE "HealthInputRow" SET (fillfactor = 70);
ALTER TABLE "HealthScore" SET (fillfactor = 80);
