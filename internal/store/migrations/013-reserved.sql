-- Schema 13: reserved for a branch developed in parallel (issue 14). This file
-- only keeps the numbering gap-free on the team-push branch (migrate.go
-- requires 1, 2, 3, … without gaps); at merge it gives way to that branch's
-- own 013 migration. It changes nothing.

SELECT 1;
