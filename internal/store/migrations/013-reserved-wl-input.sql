-- Schema 013 is assigned to branch wl-input, merged in parallel with team-auth's
-- 015-users-audit.sql. This file only keeps team-auth's numbering
-- consecutive until that merge; the merge replaces it with wl-input's own
-- 013-*.sql (left in beside it, TestParseMigrations fails naming both).

SELECT 1;
