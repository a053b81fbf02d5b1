//! Migrations on rows the previous release wrote: an empty database migrated to V4 and
//! filled the way the V4 code filled it ([`old`]: a daemon token's `owner_id` was its
//! issuer, a runtime belonged to whoever last registered it, a task token acted for the
//! runtime's owner), then migrated to V5 ([`upgrade`]: what it changes and keeps) and
//! served by the real router ([`served`]).

mod old;
mod served;
mod upgrade;
