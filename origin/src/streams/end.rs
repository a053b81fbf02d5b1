//! How a socket is told to close, by the registry, the listener or its own checks.

use std::sync::Mutex;

use tokio::sync::Notify;
use tollgate_shared::streams::Ending;

/// How a socket is told to close: the first reason given wins.
#[derive(Debug, Default)]
pub struct EndSignal {
    why: Mutex<Option<Ending>>,
    notify: Notify,
}

impl EndSignal {
    pub fn end(&self, why: Ending) {
        let mut slot = self.why.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(why);
            self.notify.notify_one();
        }
    }

    pub fn get(&self) -> Option<Ending> {
        *self.why.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Until the socket is told to close, and why.
    pub async fn wait(&self) -> Ending {
        loop {
            if let Some(why) = self.get() {
                return why;
            }
            self.notify.notified().await;
        }
    }
}
