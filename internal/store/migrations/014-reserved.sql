-- Schema 14: reserved for a migration another branch adds in parallel
-- (this branch, team-board, owns 017). It changes nothing; it exists only so
-- that the migrations stay numbered without gaps on this branch. Delete it
-- when merging: the other branch's 014 file takes its place.
SELECT 1;
