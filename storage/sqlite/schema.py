"""The SQLite schema; times are UTC ISO text, vectors float32 blobs, documents JSON text."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    key TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    thread_id TEXT,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    lease_owner TEXT,
    lease_expires_at TEXT
);
CREATE INDEX IF NOT EXISTS channels_platform ON channels(platform, created_at);
CREATE TABLE IF NOT EXISTS paragraphs (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL REFERENCES channels(key),
    seq INTEGER NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    message_id TEXT,
    source_key TEXT,
    UNIQUE (channel_key, seq)
);
CREATE INDEX IF NOT EXISTS paragraphs_status ON paragraphs(status);
CREATE UNIQUE INDEX IF NOT EXISTS paragraphs_source ON paragraphs(source_key);
CREATE INDEX IF NOT EXISTS paragraphs_writer ON paragraphs(channel_key, author_id, status);
CREATE TABLE IF NOT EXISTS inbox (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    error TEXT NOT NULL DEFAULT '',
    UNIQUE (channel_key, seq)
);
CREATE INDEX IF NOT EXISTS inbox_due ON inbox(status, channel_key, next_attempt_at);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL,
    status TEXT NOT NULL,
    message_ids TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS illustrations (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL,
    paragraph_id TEXT NOT NULL REFERENCES paragraphs(id),
    sentence_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    image_id TEXT NOT NULL,
    score REAL NOT NULL,
    provenance TEXT NOT NULL,
    clip_feature BLOB,
    created_at TEXT NOT NULL,
    parent_id TEXT,
    platform_message_ids TEXT NOT NULL DEFAULT '{}',
    image_bytes INTEGER NOT NULL DEFAULT 0,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS illustrations_paragraph ON illustrations(paragraph_id);
CREATE INDEX IF NOT EXISTS illustrations_parent ON illustrations(parent_id);
CREATE INDEX IF NOT EXISTS illustrations_channel ON illustrations(channel_key, created_at);
CREATE TABLE IF NOT EXISTS elements (
    channel_key TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    feature BLOB NOT NULL,
    count INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    first_illustration_id TEXT,
    pinned INTEGER NOT NULL DEFAULT 0,
    look BLOB,
    looks TEXT NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    pronoun TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel_key, name)
);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL,
    illustration_id TEXT,
    image_id TEXT,
    author_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    label INTEGER,
    target_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_time ON feedback(created_at);
CREATE TABLE IF NOT EXISTS edit_pairs (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL,
    illustration_id TEXT NOT NULL,
    original_image_id TEXT NOT NULL,
    edited_image_id TEXT NOT NULL,
    request TEXT NOT NULL,
    edit_prompt TEXT NOT NULL,
    attribute TEXT NOT NULL,
    attribute_word TEXT NOT NULL,
    feature_branch TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS edit_pairs_channel ON edit_pairs(channel_key, created_at);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    channel_key TEXT PRIMARY KEY,
    feature BLOB NOT NULL,
    count INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# Columns added after a table first shipped: (table, column, definition). A data directory
# made by an older version gets them at start, so upgrading never needs a fresh database.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("illustrations", "undone", "INTEGER NOT NULL DEFAULT 0"),
    # NULL for paragraphs stored before it (SQLite's UNIQUE lets NULLs repeat).
    ("paragraphs", "source_key", "TEXT"),
    # The cast: an element's look, its reference crops, description and pronoun.
    ("elements", "look", "BLOB"),
    ("elements", "looks", "TEXT NOT NULL DEFAULT '[]'"),
    ("elements", "description", "TEXT NOT NULL DEFAULT ''"),
    ("elements", "pronoun", "TEXT NOT NULL DEFAULT ''"),
)
