//! Flushing gateway usage to where it is kept: once a minute (just after the minute ends) and on
//! shutdown. Each batch gets an id and is retried with the same id until the sink takes it, so
//! a failure never double-counts; undelivered batches are kept (bounded) for the next attempt.
//! In `gatehouse serve` the sink is the store; a standalone gateway pushes batches to its
//! control plane.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{DecisionRecord, UnixTime, UsageRecord, minute_of};
use gatehouse_gateway::sync::SyncClient;
use gatehouse_gateway::{ControlPlane, UsageRecorder};
use gatehouse_store::Store;
use tokio::sync::{Mutex, watch};

/// Where usage batches go.
pub trait UsageSink: Send + Sync + std::fmt::Debug {
    /// Stores one batch; a batch id already taken must be acknowledged without counting again.
    /// The policy decisions logged with it are delivered at least once.
    fn deliver<'a>(
        &'a self,
        batch_id: &'a str,
        records: &'a [UsageRecord],
        decisions: &'a [DecisionRecord],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
}

/// The store itself (the control plane's own gateway).
#[derive(Debug)]
pub struct StoreSink(pub Arc<dyn Store>);

/// The control plane, over the sync protocol (a standalone gateway).
#[derive(Debug)]
pub struct ControlPlaneSink(pub Arc<SyncClient>);

impl UsageSink for StoreSink {
    fn deliver<'a>(
        &'a self,
        batch_id: &'a str,
        records: &'a [UsageRecord],
        decisions: &'a [DecisionRecord],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.0
                .add_usage(batch_id, records)
                .await
                .map_err(|e| e.to_string())?;
            self.0
                .add_decisions(decisions)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl UsageSink for ControlPlaneSink {
    fn deliver<'a>(
        &'a self,
        batch_id: &'a str,
        records: &'a [UsageRecord],
        decisions: &'a [DecisionRecord],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.0
                .push_usage(batch_id, records, decisions)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Most batches kept while the store is unavailable (a day of minutes).
const MAX_PENDING: usize = 1440;

/// One batch: its id, usage records and logged policy decisions.
type Batch = (String, Vec<UsageRecord>, Vec<DecisionRecord>);

/// Drains the recorder into the store.
#[derive(Debug)]
pub struct UsageFlusher {
    recorder: Arc<UsageRecorder>,
    control: Arc<dyn ControlPlane>,
    sink: Arc<dyn UsageSink>,
    pending: Mutex<Vec<Batch>>,
}

impl UsageFlusher {
    /// A flusher for `recorder`, naming APIs by `control`'s catalog and writing to `sink`.
    pub fn new(
        recorder: Arc<UsageRecorder>,
        control: Arc<dyn ControlPlane>,
        sink: Arc<dyn UsageSink>,
    ) -> Self {
        Self {
            recorder,
            control,
            sink,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Takes the counts as records of `minute` and writes every pending batch.
    pub async fn flush(&self, minute: UnixTime) {
        // Without a view (a standalone gateway that lost its control plane) the counts stay in
        // the recorder until the next flush.
        let Ok(view) = self.control.view() else {
            tracing::warn!("usage not flushed: no control-plane data to name the APIs");
            return;
        };
        let catalog = view.catalog;
        let records = self
            .recorder
            .drain(minute, |name| catalog.find_api(name).map(|a| a.id.clone()));
        let decisions = self.recorder.decisions().drain();
        let mut pending = self.pending.lock().await;
        if !records.is_empty() || !decisions.is_empty() {
            pending.push((
                gatehouse_keys::secret::random_id("usage_"),
                records,
                decisions,
            ));
        }
        while let Some((batch_id, records, decisions)) = pending.first() {
            match self.sink.deliver(batch_id, records, decisions).await {
                Ok(()) => {
                    pending.remove(0);
                }
                Err(e) => {
                    tracing::warn!(error = %e, pending = pending.len(), "usage flush failed; will retry");
                    break;
                }
            }
        }
        if pending.len() > MAX_PENDING {
            let dropped = pending.len() - MAX_PENDING;
            pending.drain(..dropped);
            tracing::error!(
                dropped,
                "usage batches dropped: the store was unavailable too long"
            );
        }
    }

    /// Flushes the current (partial) minute; used on shutdown.
    pub async fn flush_now(&self) {
        self.flush(minute_of(self.control.now())).await;
    }

    /// Runs until `stop`: flushes each minute just after it ends.
    pub fn spawn(self: &Arc<Self>, mut stop: watch::Receiver<bool>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let now = me.control.now();
                let into_minute = u64::try_from(now.0.rem_euclid(60)).unwrap_or(0);
                let wait = Duration::from_secs(60 - into_minute) + Duration::from_millis(200);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let ended = minute_of(UnixTime(me.control.now().0 - 1));
                me.flush(ended).await;
            }
        });
    }
}
