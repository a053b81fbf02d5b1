//! A call to the origin bounded in time: its answer, or why there was none — the call
//! failed, or the deadline came first — with what that means for the flow
//! ([`OriginError`]) and the words the glue logs. The glue brings the call and the
//! runtime's timer.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use crate::flow::OriginError;

/// Why a bounded call has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unanswered {
    /// The call failed, for the reason the runtime gave.
    Failed(String),
    /// Its limit passed first.
    TimedOut(Duration),
}

/// How the log line goes on after the call's name.
impl fmt::Display for Unanswered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unanswered::Failed(why) => write!(f, "failed: {why}"),
            Unanswered::TimedOut(limit) => write!(f, "got no answer within {limit:?}"),
        }
    }
}

impl From<Unanswered> for OriginError {
    fn from(unanswered: Unanswered) -> OriginError {
        match unanswered {
            Unanswered::Failed(_) => OriginError::Unreachable,
            Unanswered::TimedOut(_) => OriginError::Timeout,
        }
    }
}

/// `call`'s answer, unless `timer(limit)` ends first. The call is polled first, so an
/// answer that is ready counts even when the time is up too.
pub async fn within<T, E: fmt::Display, D: Future<Output = ()>>(
    call: impl Future<Output = Result<T, E>>,
    limit: Duration,
    timer: impl FnOnce(Duration) -> D,
) -> Result<T, Unanswered> {
    let (mut call, mut timer) = (pin!(call), pin!(timer(limit)));
    poll_fn(|cx| {
        if let Poll::Ready(answer) = call.as_mut().poll(cx) {
            return Poll::Ready(answer.map_err(|e| Unanswered::Failed(e.to_string())));
        }
        timer
            .as_mut()
            .poll(cx)
            .map(|()| Err(Unanswered::TimedOut(limit)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::{pending, ready};
    use std::task::{Context, Waker};

    const LIMIT: Duration = Duration::from_secs(5);

    /// One poll: none of these futures waits for anything outside.
    fn now<T>(fut: impl Future<Output = T>) -> Poll<T> {
        pin!(fut).poll(&mut Context::from_waker(Waker::noop()))
    }

    fn answer(value: Result<u16, &'static str>) -> impl Future<Output = Result<u16, &'static str>> {
        ready(value)
    }

    #[test]
    fn an_answer_in_time_is_the_answer() {
        assert_eq!(
            now(within(answer(Ok(200)), LIMIT, |_| pending())),
            Poll::Ready(Ok(200))
        );
        // Both ready: the answer counts.
        assert_eq!(
            now(within(answer(Ok(200)), LIMIT, |_| ready(()))),
            Poll::Ready(Ok(200))
        );
    }

    #[test]
    fn a_failed_call_is_unreachable_and_logged_with_its_reason() {
        let failed = now(within(answer(Err("connection refused")), LIMIT, |_| {
            pending()
        }));
        let Poll::Ready(Err(unanswered)) = failed else {
            panic!("{failed:?}");
        };
        assert_eq!(unanswered, Unanswered::Failed("connection refused".into()));
        assert_eq!(unanswered.to_string(), "failed: connection refused");
        assert_eq!(OriginError::from(unanswered), OriginError::Unreachable);
    }

    #[test]
    fn no_answer_within_the_limit_is_a_timeout() {
        let asked = std::cell::Cell::new(None);
        let timer = |limit| {
            asked.set(Some(limit));
            ready(())
        };
        let call = pending::<Result<u16, &str>>();
        let Poll::Ready(Err(unanswered)) = now(within(call, LIMIT, timer)) else {
            panic!("the timer has fired");
        };
        assert_eq!(asked.get(), Some(LIMIT), "the timer runs for the limit");
        assert_eq!(unanswered.to_string(), "got no answer within 5s");
        assert_eq!(OriginError::from(unanswered), OriginError::Timeout);
    }

    #[test]
    fn until_one_ends_it_waits() {
        let call = pending::<Result<u16, &str>>();
        assert_eq!(now(within(call, LIMIT, |_| pending())), Poll::Pending);
    }
}
