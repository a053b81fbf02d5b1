//! `tollgate`: enroll this machine's daemon (or log in with a PAT), renew, run the daemon
//! loop, and check who it is. Errors say what to do.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tollgate_client::daemon::{self, Intervals};
use tollgate_client::{
    credentials, default_daemon_id, describe_scope, device_login, enroll, Client, ClientError,
    Credentials, NewPat,
};
use tollgate_shared::token::{self};
use tollgate_shared::{RawToken, TokenKind};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about = "Tollgate daemon client")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exchange a single-use install token for this daemon's token and save it.
    Enroll {
        /// The edge's URL, e.g. https://api.example.com
        #[arg(long)]
        server: String,
        /// The mit_… token an admin minted (valid 15 minutes, once). From the
        /// environment, it stays out of shell history and `ps`.
        #[arg(long, env = "TOLLGATE_INSTALL_TOKEN", hide_env_values = true)]
        install_token: String,
        /// Defaults to a stable id derived from this machine's host name.
        #[arg(long)]
        daemon_id: Option<String>,
    },
    /// Sign in through the browser (approve a code on any machine's browser, so it works
    /// over SSH), or save a personal access token given with --token.
    Login {
        #[arg(long)]
        server: String,
        /// A mul_… token to save instead of signing in through the browser.
        #[arg(long, env = "TOLLGATE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The workspace the daemon runs in (for `tollgate run`); through the browser,
        /// the new token is bound to it.
        #[arg(long)]
        workspace: Option<Uuid>,
        /// Only print the address and the code; do not open a browser.
        #[arg(long)]
        no_browser: bool,
        /// Defaults to a stable id derived from this machine's host name.
        #[arg(long)]
        daemon_id: Option<String>,
    },
    /// Renew the saved PAT now if it has under 7 days left.
    Renew,
    /// The daemon loop: preflight renewal, runtimes, heartbeats, renewals. Never exits.
    Run {
        /// A runtime to register and keep alive (repeatable).
        #[arg(long = "runtime", default_value = "default")]
        runtimes: Vec<String>,
    },
    /// Show who the saved credentials authenticate as.
    Whoami,
    /// Personal access tokens of the saved PAT's user.
    Pat {
        #[command(subcommand)]
        command: PatCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PatCommand {
    /// Create a PAT (shown once), at most as wide as the saved one: for a CI job that
    /// only reads, `--read-only`; for a script that manages one workspace, `--workspace`.
    Create {
        #[arg(long)]
        name: String,
        /// Days until it expires; without it, it never expires.
        #[arg(long)]
        expires_in_days: Option<i64>,
        /// Bind it to this workspace: it then works there only.
        #[arg(long)]
        workspace: Option<Uuid>,
        /// `GET` and `HEAD` only (and its own renewal).
        #[arg(long)]
        read_only: bool,
    },
    /// List the live PATs with their scopes (never the tokens).
    List,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), ClientError> {
    let home = credentials::home()?;
    match command {
        Command::Enroll {
            server,
            install_token,
            daemon_id,
        } => {
            let daemon_id = daemon_id.unwrap_or_else(default_daemon_id);
            let creds = enroll(&server, &install_token, &daemon_id).await?;
            let path = credentials::save(&home, &creds)?;
            println!(
                "enrolled daemon {} in workspace {} (credentials: {})",
                creds.daemon_id.as_deref().unwrap_or_default(),
                creds
                    .workspace_id
                    .map(|w| w.to_string())
                    .unwrap_or_default(),
                path.display()
            );
        }
        Command::Login {
            server,
            token,
            workspace,
            no_browser,
            daemon_id,
        } => {
            let token = match token {
                Some(token) => {
                    if !token::parse(&token).is_ok_and(|t| t.kind == TokenKind::Pat) {
                        return Err(ClientError::Setup(
                            "--token must be a personal access token (mul_…)".to_owned(),
                        ));
                    }
                    RawToken::from_presented(&token)
                }
                None => browser_login(&server, workspace, no_browser).await?,
            };
            let creds = Credentials {
                server_url: server.trim_end_matches('/').to_owned(),
                workspace_id: workspace,
                daemon_id: Some(daemon_id.unwrap_or_else(default_daemon_id)),
                token,
            };
            // Only a token that works is saved.
            let mut creds = creds;
            let me = Client::new(creds.clone())?.me().await?;
            // A token bound to a workspace runs its daemon there, and nowhere else.
            if let Some(bound) = me["workspace_id"].as_str().and_then(|w| w.parse().ok()) {
                if creds.workspace_id.is_some_and(|w| w != bound) {
                    return Err(ClientError::Setup(format!(
                        "this token is bound to workspace {bound}: --workspace must be that one"
                    )));
                }
                creds.workspace_id = Some(bound);
            }
            let path = credentials::save(&home, &creds)?;
            println!(
                "logged in as {} ({}; credentials: {})",
                me["email"].as_str().unwrap_or("?"),
                describe_scope(&me),
                path.display()
            );
        }
        Command::Renew => {
            let client = Client::new(credentials::load(&home)?)?;
            let r = client.renew().await?;
            match (r.renewed, r.expires_at.as_str()) {
                (_, "") => println!("this token never expires"),
                (true, at) => println!("renewed: expires at {at}"),
                (false, at) => println!("not renewed (7 days or more left): expires at {at}"),
            }
        }
        Command::Run { runtimes } => {
            let client = Client::new(credentials::load(&home)?)?;
            daemon::run(client, runtimes, Intervals::from_env()).await;
        }
        Command::Whoami => {
            let client = Client::new(credentials::load(&home)?)?;
            println!("{}", client.whoami().await?);
        }
        Command::Pat { command } => {
            let client = Client::new(credentials::load(&home)?)?;
            pat(&client, command).await?;
        }
    }
    Ok(())
}

/// The device flow: the address and code printed (and a browser opened when there is
/// one), then a wait for the person's approval. The new PAT.
async fn browser_login(
    server: &str,
    workspace: Option<Uuid>,
    no_browser: bool,
) -> Result<RawToken, ClientError> {
    let host = default_daemon_id();
    let grant = device_login::start(server, &format!("tollgate CLI on {host}"), workspace).await?;
    println!("To sign in, open {}", grant.verification_uri);
    println!("and enter the code {}", grant.user_code);
    println!("(or open {})", grant.verification_uri_complete);
    if !no_browser && device_login::open_browser(&grant.verification_uri_complete) {
        println!("A browser should open; check the code there matches.");
    }
    println!(
        "Waiting for approval (the code works for {} minutes)…",
        grant.expires_in / 60
    );
    device_login::wait(server, &grant).await
}

async fn pat(client: &Client, command: PatCommand) -> Result<(), ClientError> {
    match command {
        PatCommand::Create {
            name,
            expires_in_days,
            workspace,
            read_only,
        } => {
            let new = NewPat {
                name,
                expires_in_days,
                workspace,
                read_only,
            };
            let created = client.create_pat(&new).await?;
            println!("{}", created["token"].as_str().unwrap_or_default());
            eprintln!(
                "created {} ({}): store it now, it is not shown again",
                created["token_prefix"].as_str().unwrap_or_default(),
                describe_scope(&created),
            );
        }
        PatCommand::List => {
            for pat in client.list_pats().await? {
                let at = |field: &str| pat[field].as_str().unwrap_or("never").to_owned();
                println!(
                    "{}…  {}  {}  expires {}  last used {}",
                    pat["token_prefix"].as_str().unwrap_or_default(),
                    pat["name"].as_str().unwrap_or_default(),
                    describe_scope(&pat),
                    at("expires_at"),
                    at("last_used_at"),
                );
            }
        }
    }
    Ok(())
}
