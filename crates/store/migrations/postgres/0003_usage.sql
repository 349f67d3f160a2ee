-- Usage: request counts and latency histograms per (minute, API, application, operation, status
-- class), added up from the batches gateways send. One BIGINT column per latency bucket
-- (`bucket_00` … `bucket_14`, the bounds of gatehouse_core::LATENCY_BOUNDS_MS plus the overflow
-- bucket), so a batch adds to a row in one `ON CONFLICT DO UPDATE`, element by element, without
-- reading it first. Usage of a deleted API or application goes with it.

CREATE TABLE usage (
    minute       BIGINT  NOT NULL CHECK (minute % 60 = 0),
    api_id       TEXT COLLATE "C" NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    client_id    TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    operation    TEXT COLLATE "C" NOT NULL,
    status_class SMALLINT NOT NULL CHECK (status_class BETWEEN 1 AND 5),
    count        BIGINT  NOT NULL CHECK (count >= 0),
    bucket_00    BIGINT  NOT NULL CHECK (bucket_00 >= 0),
    bucket_01    BIGINT  NOT NULL CHECK (bucket_01 >= 0),
    bucket_02    BIGINT  NOT NULL CHECK (bucket_02 >= 0),
    bucket_03    BIGINT  NOT NULL CHECK (bucket_03 >= 0),
    bucket_04    BIGINT  NOT NULL CHECK (bucket_04 >= 0),
    bucket_05    BIGINT  NOT NULL CHECK (bucket_05 >= 0),
    bucket_06    BIGINT  NOT NULL CHECK (bucket_06 >= 0),
    bucket_07    BIGINT  NOT NULL CHECK (bucket_07 >= 0),
    bucket_08    BIGINT  NOT NULL CHECK (bucket_08 >= 0),
    bucket_09    BIGINT  NOT NULL CHECK (bucket_09 >= 0),
    bucket_10    BIGINT  NOT NULL CHECK (bucket_10 >= 0),
    bucket_11    BIGINT  NOT NULL CHECK (bucket_11 >= 0),
    bucket_12    BIGINT  NOT NULL CHECK (bucket_12 >= 0),
    bucket_13    BIGINT  NOT NULL CHECK (bucket_13 >= 0),
    bucket_14    BIGINT  NOT NULL CHECK (bucket_14 >= 0),
    CONSTRAINT usage_pkey PRIMARY KEY (minute, api_id, client_id, operation, status_class)
);
CREATE INDEX usage_api_id_minute ON usage (api_id, minute);
CREATE INDEX usage_client_id_minute ON usage (client_id, minute);

-- Batch ids already added, so a gateway may resend a batch without double counting.
-- `received_at` (unix seconds, the database's clock) only serves purging old ids.
CREATE TABLE usage_batches (
    batch_id    TEXT COLLATE "C" NOT NULL CONSTRAINT usage_batches_pkey PRIMARY KEY,
    received_at BIGINT  NOT NULL
);
CREATE INDEX usage_batches_received_at ON usage_batches (received_at);
