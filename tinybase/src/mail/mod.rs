//! Outgoing mail: an SMTP mailer that sends account mails off the request path.
//!
//! A request only queues a mail ([`Mailer::send`] never waits for the SMTP server). A
//! background task delivers each one, retrying with backoff; a mail that still fails is
//! logged and dropped, so a broken mail server never turns into an error for the user.
//! Logs name the user and the kind of mail, never the token it carries.

mod templates;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{Semaphore, mpsc};

pub use templates::{MailKind, MailTemplate, MailTemplates, MailValues, RenderedMail};

use crate::config::{MailSettings, SmtpTls};
use crate::{Error, Result};

/// Mails waiting for delivery at most; more are dropped (and logged).
const QUEUE_CAPACITY: usize = 1000;
/// Mails being delivered at once.
const PARALLEL_DELIVERIES: usize = 4;
/// Delivery attempts per mail.
const ATTEMPTS: u32 = 5;
/// Wait before the second attempt; doubles after each failure (1, 2, 4, 8 s).
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends account mails through the configured SMTP server. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    queue: mpsc::Sender<Outgoing>,
    from: Mailbox,
    app_url: String,
    app_name: String,
    templates: MailTemplates,
}

/// One queued mail.
struct Outgoing {
    message: Message,
    kind: MailKind,
    user_id: String,
}

impl Mailer {
    /// A mailer for `settings` with `templates` (file overrides are read here), or `None`
    /// when `mail.smtp_host` is unset. Starts the delivery task: call it inside a Tokio
    /// runtime.
    ///
    /// # Errors
    /// A bad `mail.from`, an unusable SMTP host, or unreadable template files.
    pub fn from_settings(
        settings: &MailSettings,
        mut templates: MailTemplates,
    ) -> Result<Option<Self>> {
        let Some(host) = settings.smtp_host.as_deref() else {
            return Ok(None);
        };
        if let Some(dir) = &settings.templates_dir {
            // Code overrides win over files: apply the files underneath them.
            let in_code = templates;
            templates = MailTemplates::default();
            templates.load_dir(dir)?;
            templates.merge(in_code);
        }
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|err| Error::internal(format!("mail.from is not an address: {err}")))?;
        let transport = transport(settings, host)?;
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(deliver(transport, receiver));
        Ok(Some(Self {
            inner: Arc::new(Inner {
                queue,
                from,
                app_url: settings.app_url.trim_end_matches('/').to_owned(),
                app_name: settings.app_name.clone(),
                templates,
            }),
        }))
    }

    /// The mail of `kind` for `to`, carrying `token`, as it would be sent.
    pub fn render(&self, kind: MailKind, to: &str, token: &str) -> RenderedMail {
        let link = format!("{}{}?token={token}", self.inner.app_url, kind.link_path());
        self.inner.templates.get(kind).render(&MailValues {
            app_name: &self.inner.app_name,
            app_url: &self.inner.app_url,
            email: to,
            link: &link,
            token,
        })
    }

    /// Queues the mail of `kind` to `to` for `user_id`. Never waits for the SMTP server;
    /// problems are logged.
    pub fn send(&self, kind: MailKind, user_id: &str, to: &str, token: &str) {
        let rendered = self.render(kind, to, token);
        let message = match self.build(to, rendered) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(user_id, kind = kind.name(), %err, "cannot build mail");
                return;
            }
        };
        let outgoing = Outgoing {
            message,
            kind,
            user_id: user_id.to_owned(),
        };
        if self.inner.queue.try_send(outgoing).is_err() {
            tracing::error!(user_id, kind = kind.name(), "mail queue full; mail dropped");
        }
    }

    fn build(&self, to: &str, mail: RenderedMail) -> Result<Message> {
        let to: Mailbox = to
            .parse()
            .map_err(|err| Error::internal(format!("recipient is not an address: {err}")))?;
        Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(mail.subject)
            .message_id(None)
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(Error::internal)
    }
}

impl MailTemplates {
    fn merge(&mut self, other: MailTemplates) {
        for kind in MailKind::ALL {
            if let Some(template) = other.explicit(kind) {
                self.set(kind, template);
            }
        }
    }
}

fn transport(settings: &MailSettings, host: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match settings.smtp_tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|err| Error::internal(format!("mail.smtp_host {host}: {err}")))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|err| Error::internal(format!("mail.smtp_host {host}: {err}")))?,
    };
    let mut builder = builder.port(settings.smtp_port).timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &settings.smtp_username {
        let password = settings.smtp_password.clone().unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

/// Takes mails off the queue and delivers a few at a time.
async fn deliver(
    transport: AsyncSmtpTransport<Tokio1Executor>,
    mut receiver: mpsc::Receiver<Outgoing>,
) {
    let slots = Arc::new(Semaphore::new(PARALLEL_DELIVERIES));
    while let Some(mail) = receiver.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let transport = transport.clone();
        tokio::spawn(async move {
            deliver_one(&transport, mail).await;
            drop(slot);
        });
    }
}

async fn deliver_one(transport: &AsyncSmtpTransport<Tokio1Executor>, mail: Outgoing) {
    let kind = mail.kind.name();
    let user_id = mail.user_id.as_str();
    let mut delay = FIRST_RETRY_DELAY;
    for attempt in 1..=ATTEMPTS {
        match transport.send(mail.message.clone()).await {
            Ok(_) => {
                tracing::info!(user_id, kind, attempt, "mail sent");
                return;
            }
            Err(err) if attempt < ATTEMPTS => {
                tracing::warn!(user_id, kind, attempt, %err, "mail not sent; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(err) => {
                tracing::error!(user_id, kind, attempt, %err, "mail not sent; giving up");
            }
        }
    }
}
