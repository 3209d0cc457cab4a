-- Who has put away the onboarding checklist (per user: each admin decides
-- for themselves).
CREATE TABLE IF NOT EXISTS onboarding_dismissals (
    user_id      text PRIMARY KEY,
    dismissed_at datetime NOT NULL
);
