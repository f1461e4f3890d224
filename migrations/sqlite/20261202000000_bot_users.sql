-- Every GitLab user this queue's daemons have run as (sqlite).
-- Keep in step with ../postgres/20261202000000_bot_users.sql.
-- A new token may belong to a new bot user (a replaced project access token): notes the
-- earlier users posted are still sectriage's own, so suggestions and acknowledgements
-- stay recognised and maintainers' replies to them still count.
CREATE TABLE bot_users (
    user_id BIGINT PRIMARY KEY,
    username TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL
);
