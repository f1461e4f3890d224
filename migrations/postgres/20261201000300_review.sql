-- What the review pages show of a suggestion beyond its class (postgres).
-- Keep in step with ../sqlite/20261201000300_review.sql.
-- JSON (queue::SuggestionSummary): security relevance, declared tools, embargo request,
-- likely duplicates, the decisive fact and the evidence rows, all in sectriage's own words
-- or knowledge-base terms; never the report's text.
ALTER TABLE suggestions ADD COLUMN summary TEXT;
