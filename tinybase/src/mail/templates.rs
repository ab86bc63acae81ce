//! The account mails: a subject, a plain-text body and an HTML body per kind, with
//! `{{placeholders}}`. Built-in texts ship in the binary; an app replaces them with files
//! (`mail.templates_dir`) or in code ([`crate::App::mail_template`]).

use std::collections::HashMap;
use std::io;
use std::path::Path;

use crate::{Error, Result};

/// Which account mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// "Verify your email": links to `{app_url}/verify-email?token=…`.
    Verification,
    /// "Reset your password": links to `{app_url}/reset-password?token=…`.
    PasswordReset,
    /// "Confirm your new email", sent to the new address: links to
    /// `{app_url}/confirm-email-change?token=…`.
    EmailChange,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 3] = [Self::Verification, Self::PasswordReset, Self::EmailChange];

    /// The file-name stem of this kind's templates (`verification`, `password_reset`,
    /// `email_change`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }

    /// The path under `mail.app_url` that the mail links to.
    pub fn link_path(self) -> &'static str {
        match self {
            Self::Verification => "/verify-email",
            Self::PasswordReset => "/reset-password",
            Self::EmailChange => "/confirm-email-change",
        }
    }
}

/// One mail's texts. Placeholders: `{{app_name}}`, `{{app_url}}`, `{{email}}` (the
/// address the mail goes to), `{{link}}` and `{{token}}`. In `html`, values are
/// HTML-escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplate {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// What one mail says once its placeholders are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// The values a template is filled with.
#[derive(Debug, Clone)]
pub struct MailValues<'a> {
    /// `{{app_name}}`.
    pub app_name: &'a str,
    /// `{{app_url}}`.
    pub app_url: &'a str,
    /// `{{email}}`.
    pub email: &'a str,
    /// `{{link}}`.
    pub link: &'a str,
    /// `{{token}}`.
    pub token: &'a str,
}

impl MailTemplate {
    /// The built-in texts of `kind`.
    pub fn builtin(kind: MailKind) -> Self {
        let (subject, text, html) = match kind {
            MailKind::Verification => (
                include_str!("../../templates/mail/verification.subject.txt"),
                include_str!("../../templates/mail/verification.txt"),
                include_str!("../../templates/mail/verification.html"),
            ),
            MailKind::PasswordReset => (
                include_str!("../../templates/mail/password_reset.subject.txt"),
                include_str!("../../templates/mail/password_reset.txt"),
                include_str!("../../templates/mail/password_reset.html"),
            ),
            MailKind::EmailChange => (
                include_str!("../../templates/mail/email_change.subject.txt"),
                include_str!("../../templates/mail/email_change.txt"),
                include_str!("../../templates/mail/email_change.html"),
            ),
        };
        Self {
            subject: subject.to_owned(),
            text: text.to_owned(),
            html: html.to_owned(),
        }
    }

    /// Fills in the placeholders.
    pub fn render(&self, values: &MailValues<'_>) -> RenderedMail {
        RenderedMail {
            // A subject is one line: a newline in a value must not start a header.
            subject: fill(self.subject.trim(), values, |v| {
                v.replace(['\r', '\n'], " ")
            }),
            text: fill(&self.text, values, str::to_owned),
            html: fill(&self.html, values, escape_html),
        }
    }
}

/// The templates in force: built-in, then files, then code, each replacing the last.
#[derive(Debug, Clone, Default)]
pub struct MailTemplates {
    overrides: HashMap<MailKind, MailTemplate>,
}

impl MailTemplates {
    /// Replaces the texts of `kind`.
    pub fn set(&mut self, kind: MailKind, template: MailTemplate) {
        self.overrides.insert(kind, template);
    }

    /// The texts set for `kind`, if any replace the built-in ones.
    pub fn explicit(&self, kind: MailKind) -> Option<MailTemplate> {
        self.overrides.get(&kind).cloned()
    }

    /// The texts of `kind`.
    pub fn get(&self, kind: MailKind) -> MailTemplate {
        self.overrides
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| MailTemplate::builtin(kind))
    }

    /// Reads `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html` from `dir`; each file
    /// that exists replaces that part of the kind's current texts.
    ///
    /// # Errors
    /// When `dir` or a file in it cannot be read.
    pub fn load_dir(&mut self, dir: &Path) -> Result<()> {
        if !dir.is_dir() {
            return Err(Error::internal(format!(
                "mail.templates_dir {} is not a directory",
                dir.display()
            )));
        }
        for kind in MailKind::ALL {
            let mut template = self.get(kind);
            let parts = [
                ("subject.txt", &mut template.subject),
                ("txt", &mut template.text),
                ("html", &mut template.html),
            ];
            for (extension, slot) in parts {
                let path = dir.join(format!("{}.{extension}", kind.name()));
                match std::fs::read_to_string(&path) {
                    Ok(text) => *slot = text,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(Error::internal(format!(
                            "cannot read mail template {}: {err}",
                            path.display()
                        )));
                    }
                }
            }
            self.set(kind, template);
        }
        Ok(())
    }
}

fn fill(template: &str, values: &MailValues<'_>, encode: impl Fn(&str) -> String) -> String {
    let mut out = template.to_owned();
    for (name, value) in [
        ("app_name", values.app_name),
        ("app_url", values.app_url),
        ("email", values.email),
        ("link", values.link),
        ("token", values.token),
    ] {
        out = out.replace(&format!("{{{{{name}}}}}"), &encode(value));
    }
    out
}

fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> MailValues<'static> {
        MailValues {
            app_name: "Shop & Co",
            app_url: "https://shop.example.com",
            email: "ann@example.com",
            link: "https://shop.example.com/verify-email?token=tb_abc",
            token: "tb_abc",
        }
    }

    #[test]
    fn builtin_mails_carry_the_link_and_the_token() {
        for kind in MailKind::ALL {
            let mail = MailTemplate::builtin(kind).render(&values());
            assert!(mail.text.contains(values().link), "{kind:?}");
            assert!(mail.text.contains("tb_abc"), "{kind:?}");
            assert!(mail.html.contains("tb_abc"), "{kind:?}");
            assert!(!mail.subject.contains('\n'), "{kind:?}");
            assert!(!mail.text.contains("{{"), "{kind:?}");
            assert!(!mail.html.contains("{{"), "{kind:?}");
        }
    }

    #[test]
    fn html_values_are_escaped_and_text_values_are_not() {
        let mail = MailTemplate::builtin(MailKind::Verification).render(&values());
        assert!(mail.html.contains("Shop &amp; Co"));
        assert!(mail.text.contains("Shop & Co"));
    }

    #[test]
    fn a_subject_stays_one_line() {
        let template = MailTemplate {
            subject: "Hi {{email}}".to_owned(),
            text: String::new(),
            html: String::new(),
        };
        let mut v = values();
        v.email = "a@b.c\r\nBcc: evil@x.io";
        assert_eq!(template.render(&v).subject, "Hi a@b.c  Bcc: evil@x.io");
    }

    #[test]
    fn files_replace_only_the_parts_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("password_reset.txt"), "Reset: {{link}}").unwrap();
        let mut templates = MailTemplates::default();
        templates.load_dir(dir.path()).unwrap();
        let reset = templates.get(MailKind::PasswordReset);
        assert_eq!(reset.text, "Reset: {{link}}");
        assert_eq!(
            reset.subject,
            MailTemplate::builtin(MailKind::PasswordReset).subject
        );
        assert_eq!(
            templates.get(MailKind::Verification),
            MailTemplate::builtin(MailKind::Verification)
        );
        assert!(templates.load_dir(&dir.path().join("missing")).is_err());
    }
}
