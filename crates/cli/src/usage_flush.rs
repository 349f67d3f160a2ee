//! Flushing gateway usage to the store: once a minute (just after the minute ends) and on
//! shutdown. Each batch gets an id and is retried with the same id until the store takes it, so
//! a failure never double-counts; undelivered batches are kept (bounded) for the next attempt.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{UnixTime, UsageRecord, minute_of};
use gatehouse_gateway::UsageRecorder;
use gatehouse_oauth::OAuthState;
use tokio::sync::{Mutex, watch};

/// Most batches kept while the store is unavailable (a day of minutes).
const MAX_PENDING: usize = 1440;

/// Drains the recorder into the store.
#[derive(Debug)]
pub struct UsageFlusher {
    recorder: Arc<UsageRecorder>,
    state: Arc<OAuthState>,
    pending: Mutex<Vec<(String, Vec<UsageRecord>)>>,
}

impl UsageFlusher {
    /// A flusher for `recorder`.
    pub fn new(recorder: Arc<UsageRecorder>, state: Arc<OAuthState>) -> Self {
        Self {
            recorder,
            state,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Takes the counts as records of `minute` and writes every pending batch.
    pub async fn flush(&self, minute: UnixTime) {
        let catalog = self.state.catalog.get();
        let records = self
            .recorder
            .drain(minute, |name| catalog.find_api(name).map(|a| a.id.clone()));
        let mut pending = self.pending.lock().await;
        if !records.is_empty() {
            pending.push((gatehouse_keys::secret::random_id("usage_"), records));
        }
        while let Some((batch_id, records)) = pending.first() {
            match self.state.store.add_usage(batch_id, records).await {
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
        self.flush(minute_of(self.state.now())).await;
    }

    /// Runs until `stop`: flushes each minute just after it ends.
    pub fn spawn(self: &Arc<Self>, mut stop: watch::Receiver<bool>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let now = me.state.now();
                let into_minute = u64::try_from(now.0.rem_euclid(60)).unwrap_or(0);
                let wait = Duration::from_secs(60 - into_minute) + Duration::from_millis(200);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let ended = minute_of(UnixTime(me.state.now().0 - 1));
                me.flush(ended).await;
            }
        });
    }
}
