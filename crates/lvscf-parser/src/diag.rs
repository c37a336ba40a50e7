//! Errors and warnings: position, stable code, message, hint, caret snippet.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file still loads.
    Warning,
    /// The file does not load.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! codes {
    ($($variant:ident => $text:literal, $piranha:literal;)+) => {
        /// Stable identifier of each kind of problem. `as_str` is what
        /// scripts and tests match on; it never changes once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(into = "&'static str")]
        pub enum Code {
            $(
                #[doc = $text]
                $variant,
            )+
        }

        impl Code {
            /// The stable kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }

            /// Piranha's message for the same class of problem, when it had one.
            pub fn piranha_message(self) -> Option<&'static str> {
                let text = match self {
                    $(Code::$variant => $piranha,)+
                };
                (!text.is_empty()).then_some(text)
            }
        }

        impl From<Code> for &'static str {
            fn from(code: Code) -> &'static str {
                code.as_str()
            }
        }
    };
}

codes! {
    EmptyConfiguration => "empty-configuration", "Empty configuration";
    Io => "io", "I/O error while reading configuration";
    FileTooLarge => "file-too-large", "";
    NulByte => "nul-byte", "";
    InvalidUtf8 => "invalid-utf8", "";
    StrayCarriageReturn => "stray-carriage-return", "";
    QuotationMismatch => "quotation-mismatch", "quotation mismatch";
    TooManyTokens => "too-many-tokens", "";
    UnexpectedArguments => "unexpected-arguments", "unexpected arguments";
    EqualExpected => "equal-expected", "equal (=) expected after command";
    MissingArguments => "missing-arguments", "missing arguments";
    InvalidHost => "invalid-host", "invalid host name or ip address";
    InvalidArgument => "invalid-argument", "invalid argument";
    IntegerExpected => "integer-expected", "integer expected";
    BooleanExpected => "boolean-expected", "boolean expected";
    UnknownCommand => "unknown-command", "unknown command";
    ListExpected => "list-expected", "list expected";
    BadSubnetMask => "bad-subnet-mask", "Bad subnet mask specified";
    OutOfRange => "out-of-range", "";
    ValueTooLong => "value-too-long", "";
    InvalidDevice => "invalid-device", "";
    InvalidRegex => "invalid-regex", "";
    RelativeProgram => "relative-program", "";
    UnbalancedBrace => "unbalanced-brace", "unknown command";
    MissingCloseBrace => "missing-close-brace", "";
    TextAfterBrace => "text-after-brace", "";
    DuplicateKey => "duplicate-key", "";
    HostName => "host-name", "";
    PmaskIgnored => "pmask-ignored", "";
    NumberSpelling => "number-spelling", "";
    AddressSpelling => "address-spelling", "";
    NotProgrammed => "not-programmed", "";
    NoncontiguousNetmask => "noncontiguous-netmask", "";
    BackupPrivateIgnored => "backup-private-ignored", "";
    PortAfterServers => "port-after-servers", "";
    DuplicateVirtualName => "duplicate-virtual-name", "";
    DuplicateServerName => "duplicate-server-name", "";
    DuplicateService => "duplicate-service", "";
    DuplicateRealServer => "duplicate-real-server", "";
    DeadtimeNotAboveKeepalive => "deadtime-not-above-keepalive", "";
    AddressFamilyMismatch => "address-family-mismatch", "";
    MissingAddress => "missing-address", "";
    VipIsRealServer => "vip-is-real-server", "";
    PrimaryIsBackup => "primary-is-backup", "";
    SorryServerIsVip => "sorry-server-is-vip", "";
    HeartbeatPortCollision => "heartbeat-port-collision", "";
    NoActiveService => "no-active-service", "";
    UndefinedBackup => "undefined-backup", "";
    MissingBackupPrivate => "missing-backup-private", "";
    SendIgnored => "send-ignored", "";
    NoEffect => "no-effect", "";
    InvalidCheck => "invalid-check", "";
    SyncdIdWrapped => "syncd-id-wrapped", "";
    MissingFailoverCommand => "missing-failover-command", "";
    UnsafeProgram => "unsafe-program", "";
    AuthWithoutKey => "auth-without-key", "";
    AnycastNat => "anycast-nat", "";
    AnycastScheduler => "anycast-scheduler", "";
    LoadMonitorCommand => "load-monitor-command", "";
    ControlCharacter => "control-character", "";
}

/// One problem found in a file, with where it is and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Number of characters the caret underlines (at least 1).
    pub width: usize,
    /// The keyword concerned, if any.
    pub keyword: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// How to fix it, when we know.
    pub hint: Option<String>,
    /// The text of the offending line (lossy UTF-8, without its line ending).
    pub source_line: String,
}

impl Diagnostic {
    /// Whether this diagnostic stops the file from loading.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `FILE:LINE:COL: error: message [code]`, the line, a caret under the
    /// offending text, and the hint.
    pub fn render(&self, file: &str) -> String {
        let mut out = format!(
            "{}:{}:{}: {}: {} [{}]\n",
            file,
            self.line,
            self.column,
            self.severity,
            self.message,
            self.code.as_str()
        );
        if self.line > 0 {
            let number = self.line.to_string();
            let gutter = " ".repeat(number.len());
            let shown: String = self.source_line.chars().take(200).collect();
            out.push_str(&format!(" {number} | {shown}\n"));
            // Keep tabs so the caret lines up under tab-indented text.
            let pad: String = self
                .source_line
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = self.width.clamp(1, 200);
            out.push_str(&format!(" {gutter} | {pad}{}\n", "^".repeat(width)));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("  = hint: {hint}\n"));
        }
        out
    }

    /// Piranha's one-line form, as pulse printed it:
    /// `error parsing FILE at line N: MESSAGE`.
    pub fn piranha_line(&self, file: &str) -> String {
        format!(
            "error parsing {} at line {}: {}",
            file, self.line, self.message
        )
    }
}

/// The diagnostics of a file that did not load (at least one error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// The file name used in messages.
    pub file: String,
    /// Errors and warnings, in line order.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    /// The first error (there is always one in a failed load).
    pub fn first_error(&self) -> Option<&Diagnostic> {
        self.errors().next()
    }

    /// Every diagnostic rendered with its snippet.
    pub fn render(&self) -> String {
        self.items.iter().map(|d| d.render(&self.file)).collect()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.first_error() {
            Some(d) => {
                write!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
                let more = self.errors().count() - 1;
                if more > 0 {
                    write!(
                        f,
                        " (and {more} more error{})",
                        if more == 1 { "" } else { "s" }
                    )?;
                }
                Ok(())
            }
            None => write!(f, "{}: no errors", self.file),
        }
    }
}

impl std::error::Error for Diagnostics {}
