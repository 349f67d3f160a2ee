-- Usage: request counts and latency histograms per (minute, API, application, operation, status
-- class), added up from the batches gateways send. One INTEGER column per latency bucket
-- (`bucket_00` … `bucket_14`, the bounds of gatehouse_core::LATENCY_BOUNDS_MS plus the overflow
-- bucket), so a batch adds to a row in one `ON CONFLICT DO UPDATE`, element by element, without
-- reading it first. Usage of a deleted API or application goes with it.

CREATE TABLE usage (
    minute       INTEGER NOT NULL CHECK (minute % 60 = 0),
    api_id       TEXT    NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    client_id    TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    operation    TEXT    NOT NULL,
    status_class INTEGER NOT NULL CHECK (status_class BETWEEN 1 AND 5),
    count        INTEGER NOT NULL CHECK (count >= 0),
    bucket_00    INTEGER NOT NULL CHECK (bucket_00 >= 0),
    bucket_01    INTEGER NOT NULL CHECK (bucket_01 >= 0),
    bucket_02    INTEGER NOT NULL CHECK (bucket_02 >= 0),
    bucket_03    INTEGER NOT NULL CHECK (bucket_03 >= 0),
    bucket_04    INTEGER NOT NULL CHECK (bucket_04 >= 0),
    bucket_05    INTEGER NOT NULL CHECK (bucket_05 >= 0),
    bucket_06    INTEGER NOT NULL CHECK (bucket_06 >= 0),
    bucket_07    INTEGER NOT NULL CHECK (bucket_07 >= 0),
    bucket_08    INTEGER NOT NULL CHECK (bucket_08 >= 0),
    bucket_09    INTEGER NOT NULL CHECK (bucket_09 >= 0),
    bucket_10    INTEGER NOT NULL CHECK (bucket_10 >= 0),
    bucket_11    INTEGER NOT NULL CHECK (bucket_11 >= 0),
    bucket_12    INTEGER NOT NULL CHECK (bucket_12 >= 0),
    bucket_13    INTEGER NOT NULL CHECK (bucket_13 >= 0),
    bucket_14    INTEGER NOT NULL CHECK (bucket_14 >= 0),
    PRIMARY KEY (minute, api_id, client_id, operation, status_class)
) STRICT;
CREATE INDEX usage_api_id_minute ON usage (api_id, minute);
CREATE INDEX usage_client_id_minute ON usage (client_id, minute);

-- Batch ids already added, so a gateway may resend a batch without double counting.
-- `received_at` (unix seconds, the database's clock) only serves purging old ids.
CREATE TABLE usage_batches (
    batch_id    TEXT    NOT NULL PRIMARY KEY,
    received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX usage_batches_received_at ON usage_batches (received_at);
