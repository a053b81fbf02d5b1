//! The revocation log's Durable Object: one SQLite-backed object (`REVOCATION_LOG`,
//! named `global`) that every location appends to and reads from. What it keeps and how
//! long is `revocation_log`'s; this is the storage. Each request's statements run with
//! no `await` between them, so the object applies them atomically, and its answer is
//! held back until they are durable (the runtime's output gate).

use std::cell::{Cell, RefCell};

use worker::{
    console_warn, durable_object, DurableObject, Env, Method, Request, Response, Result,
    SqlStorage, SqlStorageValue, State,
};

use super::now_ms;
use crate::revocation_log::{self as log, AppendAnswer, Entry};

#[durable_object]
pub struct RevocationLog {
    state: State,
    /// Catch-up reads served since the object started (for the bench).
    reads: Cell<u64>,
    /// Read from storage by the first request (tables created if need be).
    epoch: RefCell<Option<String>>,
}

/// The rows of `query`, as the runtime gives them (no serde between: smaller Worker).
fn rows(
    sql: &SqlStorage,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> Result<Vec<Vec<SqlStorageValue>>> {
    sql.exec(query, bindings)?.raw().collect()
}

fn integer(value: Option<&SqlStorageValue>) -> Result<i64> {
    match value {
        Some(SqlStorageValue::Integer(n)) => Ok(*n),
        _ => Err("revocation log: not an integer".into()),
    }
}

fn text(value: Option<&SqlStorageValue>) -> Result<String> {
    match value {
        Some(SqlStorageValue::String(s)) => Ok(s.clone()),
        _ => Err("revocation log: not text".into()),
    }
}

impl RevocationLog {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// The tables, and the epoch: the time the storage was first used, so a log that
    /// starts over (a deleted object) is told apart from the old one by every copy.
    fn epoch(&self) -> Result<String> {
        if let Some(epoch) = self.epoch.borrow().as_ref() {
            return Ok(epoch.clone());
        }
        let epoch = self.prepare()?;
        *self.epoch.borrow_mut() = Some(epoch.clone());
        Ok(epoch)
    }

    fn prepare(&self) -> Result<String> {
        let sql = self.sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS revoked (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             key TEXT NOT NULL UNIQUE, at_ms INTEGER NOT NULL)",
            None,
        )?;
        sql.exec(
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            None,
        )?;
        let epoch = now_ms().to_string();
        sql.exec(
            "INSERT OR IGNORE INTO meta (name, value) VALUES ('epoch', ?)",
            vec![epoch.into()],
        )?;
        let found = rows(&sql, "SELECT value FROM meta WHERE name = 'epoch'", vec![])?;
        text(found.first().and_then(|row| row.first()))
    }

    fn count(&self, query: &str) -> Result<u64> {
        let found = rows(&self.sql(), query, vec![])?;
        let n = integer(found.first().and_then(|row| row.first()))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Appends `keys` (again: a key appended before gets a new sequence number and
    /// time, in one statement), after dropping what is past retention. When they would
    /// not fit, the oldest rows go and the log is marked overflowed (see `MAX_ENTRIES`).
    fn append(&self, keys: &[String], now: i64) -> Result<u64> {
        let sql = self.sql();
        sql.exec(
            "DELETE FROM revoked WHERE at_ms < ?",
            vec![log::oldest_kept(now).into()],
        )?;
        let retained = self.count("SELECT COUNT(*) AS n FROM revoked")?;
        let drop = log::to_drop(retained, keys.len());
        if drop > 0 {
            let drop = i64::try_from(drop).unwrap_or(i64::MAX);
            sql.exec(
                "DELETE FROM revoked WHERE seq IN (SELECT seq FROM revoked ORDER BY seq LIMIT ?)",
                vec![drop.into()],
            )?;
            let until = now.saturating_add(log::RETENTION_MS).to_string();
            sql.exec(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('overflow_until', ?)",
                vec![until.into()],
            )?;
            console_warn!("revocation log overflowed: every hit resolves for a while");
        }
        for key in keys {
            sql.exec(
                "INSERT OR REPLACE INTO revoked (key, at_ms) VALUES (?, ?)",
                vec![key.as_str().into(), now.into()],
            )?;
        }
        self.count("SELECT COALESCE(MAX(seq), 0) AS n FROM revoked")
    }

    /// Until when the log counts as overflowed (0: never was).
    fn overflow_until(&self) -> Result<i64> {
        let query = "SELECT value FROM meta WHERE name = 'overflow_until'";
        let found = rows(&self.sql(), query, vec![])?;
        match found.first() {
            Some(row) => Ok(text(row.first())?.parse().unwrap_or(i64::MAX)),
            None => Ok(0),
        }
    }

    fn after(&self, after: u64, now: i64) -> Result<Vec<Entry>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(log::PAGE + 1).unwrap_or(i64::MAX);
        let found = rows(
            &self.sql(),
            "SELECT seq, key, at_ms FROM revoked WHERE seq > ? AND at_ms >= ? ORDER BY seq LIMIT ?",
            vec![after.into(), log::oldest_kept(now).into(), limit.into()],
        )?;
        found
            .iter()
            .map(|row| {
                Ok(Entry {
                    seq: u64::try_from(integer(row.first())?).unwrap_or(0),
                    key: text(row.get(1))?,
                    at_ms: integer(row.get(2))?,
                })
            })
            .collect()
    }
}

impl DurableObject for RevocationLog {
    fn new(state: State, _env: Env) -> Self {
        RevocationLog {
            state,
            reads: Cell::new(0),
            epoch: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let epoch = self.epoch()?;
        let now = now_ms();
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Post, log::APPEND_PATH) => {
                let body = req.bytes().await?;
                match log::parse_append(&body) {
                    Ok(keys) => Response::from_json(&AppendAnswer {
                        head: self.append(&keys, now)?,
                    }),
                    Err(_) => Response::error("bad append", 400),
                }
            }
            (Method::Get, log::STATS_PATH) => Response::from_json(&log::Stats {
                reads: self.reads.get(),
                retained: self.count("SELECT COUNT(*) AS n FROM revoked")?,
            }),
            (Method::Get, path) => match log::parse_after(path) {
                Some(after) => {
                    self.reads.set(self.reads.get() + 1);
                    let overflow_until = self.overflow_until()?;
                    let entries = self.after(after, now)?;
                    Response::from_json(&log::page(epoch, entries, now, overflow_until))
                }
                None => Response::error("not found", 404),
            },
            _ => Response::error("not found", 404),
        }
    }
}
