//! Signing in by emailed code. [`issue`] stores a new code for an address and says
//! what to mail (nothing for an address with no account, though the code is stored all
//! the same, so that the work is the same either way); [`verify`] consumes the right
//! code in one conditional statement and opens the session in the same transaction, so
//! of concurrent verifications of one code exactly one gets a session.

use tollgate_shared::session::SessionKey;
use tollgate_shared::sign_in::{self, CODE_TTL_SECS, MAX_WRONG_TRIES};
use tollgate_shared::AuthError;

use crate::db::sign_in_codes::{self, Checked};
use crate::db::users::{self, User};
use crate::db::{in_transaction, with_client};
use crate::domain_error::{DomainError, DomainResult};
use crate::mail::Mail;
use crate::sessions::{self, Opened, Opening};

/// Stores a new code for `email` (normalized), replacing any earlier one, and returns
/// the message that carries it; `None` for an address with no account (nothing is sent).
pub async fn issue(
    pool: &deadpool_postgres::Pool,
    key: &SessionKey,
    email: &str,
) -> DomainResult<Option<Mail>> {
    let code = sign_in::new_code().map_err(|e| DomainError::Internal(e.to_string()))?;
    let address = sign_in::address_digest(key, email);
    let digest = sign_in::code_digest(key, email, &code);
    let owned = email.to_owned();
    let has_account = with_client(pool, move |db| {
        Box::pin(async move {
            sign_in_codes::replace(db, &address, &digest).await?;
            Ok::<_, DomainError>(users::find_by_email(db, &owned).await?.is_some())
        })
    })
    .await?;
    Ok(has_account.then(|| code_mail(email, &code)))
}

/// The message that carries `code`: in the body only (subjects show in notifications
/// and relays' logs).
fn code_mail(email: &str, code: &str) -> Mail {
    let minutes = CODE_TTL_SECS / 60;
    Mail {
        to: email.to_owned(),
        subject: "Your Tollgate sign-in code".to_owned(),
        text: format!(
            "Your Tollgate sign-in code is\n\n    {code}\n\n\
             It works once, within {minutes} minutes, and {MAX_WRONG_TRIES} wrong tries end it.\n\n\
             If you did not ask to sign in, ignore this message: nobody can sign in\n\
             without the code. Never give it to anyone who asks for it.\n"
        ),
    }
}

/// A session opened by a code.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub session: Opened,
}

/// Signs in with `code` for `email` (normalized, or `None` if it was no address): the
/// session `opening` describes, or `invalid code` for anything wrong (unknown address,
/// wrong, expired, used or burned code) and `account suspended` for the right code of a
/// suspended account (the code is used up all the same).
pub async fn verify(
    pool: &deadpool_postgres::Pool,
    key: &SessionKey,
    email: Option<String>,
    code: &str,
    opening: Opening,
) -> DomainResult<SignedIn> {
    let invalid = || DomainError::from(AuthError::InvalidCode);
    let Some(email) = email else {
        return Err(invalid());
    };
    if !sign_in::is_code_shaped(code) {
        return Err(invalid());
    }
    let address = sign_in::address_digest(key, &email);
    let digest = sign_in::code_digest(key, &email, code);
    let key = key.clone();
    // The suspension's answer is decided inside, and the used code must survive it: the
    // transaction commits, then the refusal is returned.
    let outcome = in_transaction(pool, move |tx| {
        Box::pin(async move {
            match sign_in_codes::check(tx, &address, &digest).await? {
                Checked::Consumed => {}
                Checked::Wrong | Checked::NoCode => return Ok(Err(AuthError::InvalidCode)),
            }
            // Held until commit: a suspension of this user waits, then ends this session.
            match users::hold_by_email(tx, &email).await? {
                // A code is stored for an address without an account, but never sent.
                None => Ok(Err(AuthError::InvalidCode)),
                Some((_, true)) => Ok(Err(AuthError::AccountSuspended)),
                Some((user, false)) => {
                    let session = sessions::open(tx, &key, &user, &opening).await?;
                    tracing::info!(user_id = %user.id, session_id = %session.id, "signed in");
                    Ok::<_, DomainError>(Ok(SignedIn { user, session }))
                }
            }
        })
    })
    .await?;
    outcome.map_err(DomainError::from)
}
