//! Mail: sign-in codes go out through SMTP (`SMTP_URL`, over TLS unless the server is on
//! this machine) or, for local development, into a directory as `.eml` files
//! (`MAIL_DIR`). The settings are read in `config::mail`; here they become a transport.
//!
//! Messages are sent after the answer (see [`Mailer::send_later`]): how long a send
//! takes must not tell a caller whether an address has an account.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::metrics::Metrics;

/// How long one message may take to hand over, connection included.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://…?tls=required`: STARTTLS, and no message without it.
    StartTls,
    /// `smtp://` to this machine: nothing is on the wire.
    None,
}

/// `SMTP_URL`, parsed. The password never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// From the URL's userinfo (percent-decoded).
    pub credentials: Option<(String, String)>,
    /// `SMTP_CA_FILE`: a PEM root to trust besides the system's (a private relay).
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Where mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    Smtp(SmtpSettings),
    /// `MAIL_DIR`: each message a file `<uuid>.eml`.
    Dir(PathBuf),
}

/// The mail settings: where to, and `MAIL_FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_CA_FILE: {0}")]
    CaFile(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the message could not be sent: {0}")]
    Send(String),
    #[error("the message was not sent within {0:?}")]
    Timeout(Duration),
}

/// One message, plain text. Its `Debug` shows neither subject nor text (a sign-in
/// code's message carries the code).
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("text", &"…")
            .finish_non_exhaustive()
    }
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Dir(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    metrics: Arc<Metrics>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Dir(_) => "dir",
        };
        f.debug_struct("Mailer").field("transport", &kind).finish()
    }
}

impl Mailer {
    /// The transport `settings` describe; nothing is connected yet.
    pub fn new(settings: &MailSettings, metrics: Arc<Metrics>) -> Result<Mailer, MailError> {
        let transport = match &settings.transport {
            MailTransport::Dir(dir) => Transport::Dir(AsyncFileTransport::new(dir)),
            MailTransport::Smtp(smtp) => Transport::Smtp(smtp_transport(smtp)?),
        };
        Ok(Mailer {
            from: settings.from.clone(),
            transport,
            metrics,
        })
    }

    /// Hands `mail` over, within [`SEND_TIMEOUT`].
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| MailError::Build(e.to_string()))?;
        let sent = async {
            match &self.transport {
                Transport::Smtp(t) => t.send(message).await.map(drop).map_err(|e| e.to_string()),
                Transport::Dir(t) => t.send(message).await.map(drop).map_err(|e| e.to_string()),
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, sent).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(MailError::Send(e)),
            Err(_) => Err(MailError::Timeout(SEND_TIMEOUT)),
        }
    }

    /// Sends `mail` after the answer has gone out; a failure is logged (and counted),
    /// never the caller's to see. `what` names the message in the log, never its text.
    pub fn send_later(self: &Arc<Self>, mail: Mail, what: &'static str) {
        let mailer = Arc::clone(self);
        tokio::spawn(async move {
            match mailer.send(&mail).await {
                Ok(()) => {
                    mailer.metrics.mail_sent.with_label_values(&["sent"]).inc();
                    tracing::info!(mail = what, "mail sent");
                }
                Err(e) => {
                    mailer
                        .metrics
                        .mail_sent
                        .with_label_values(&["failed"])
                        .inc();
                    tracing::warn!(mail = what, error = %e, "mail not sent");
                }
            }
        });
    }
}

fn smtp_transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls = match smtp.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Implicit => Tls::Wrapper(tls_parameters(smtp)?),
        SmtpTls::StartTls => Tls::Required(tls_parameters(smtp)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(SEND_TIMEOUT));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

fn tls_parameters(smtp: &SmtpSettings) -> Result<TlsParameters, MailError> {
    let mut params = TlsParameters::builder(smtp.host.clone());
    if let Some(path) = &smtp.ca_file {
        let pem = std::fs::read(path).map_err(|e| MailError::CaFile(e.to_string()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| MailError::CaFile(e.to_string()))?;
        params = params.add_root_certificate(cert);
    }
    params
        .build_rustls()
        .map_err(|e| MailError::Tls(e.to_string()))
}
