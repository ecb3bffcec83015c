//! What the networked verbs print and how they exit: one stdout writer that treats a closed pipe
//! as a quiet end (`cairn query state | head -c 10`), and the typed errors behind the exit codes.
//!
//! | exit | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the node or the chain refused: a 4xx/5xx answer, or a committed receipt with `ok: false` |
//! | 2 | bad input: usage, an unparsable field, an unknown key file, a wrong password |
//! | 3 | the node is unreachable: connection refused, no answer in time |

use std::io::Write;

use serde_json::Value;

/// Why a command failed; each kind has its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The node or the chain refused (exit 1).
    Refused,
    /// The input is wrong (exit 2).
    BadInput,
    /// The node did not answer (exit 3).
    Unreachable,
}

impl Kind {
    /// The exit status of this kind of failure.
    pub fn code(self) -> u8 {
        match self {
            Self::Refused => 1,
            Self::BadInput => 2,
            Self::Unreachable => 3,
        }
    }
}

/// A failure with its kind, a message, and what to print on stdout all the same (a refused
/// transaction's receipt).
#[derive(Debug, Clone)]
pub struct CliError {
    /// The kind, hence the exit status.
    pub kind: Kind,
    /// What went wrong, for stderr.
    pub message: String,
    /// Printed on stdout before the error (e.g. the receipt of a refused transaction).
    pub output: Option<Value>,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// A refusal by the node or the chain (exit 1).
pub fn refused(message: impl Into<String>) -> anyhow::Error {
    CliError { kind: Kind::Refused, message: message.into(), output: None }.into()
}

/// A refusal whose answer is printed on stdout too (exit 1).
pub fn refused_with(message: impl Into<String>, output: Value) -> anyhow::Error {
    CliError { kind: Kind::Refused, message: message.into(), output: Some(output) }.into()
}

/// Bad input (exit 2).
pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    CliError { kind: Kind::BadInput, message: message.into(), output: None }.into()
}

/// No answer from the node (exit 3).
pub fn unreachable(message: impl Into<String>) -> anyhow::Error {
    CliError { kind: Kind::Unreachable, message: message.into(), output: None }.into()
}

/// The kind of an error: the first [`CliError`] in its chain; a transport failure of the node's
/// client is [`Kind::Unreachable`]; anything else is bad input.
pub fn kind_of(e: &anyhow::Error) -> Kind {
    e.chain()
        .find_map(|c| {
            c.downcast_ref::<CliError>()
                .map(|c| c.kind)
                .or_else(|| c.downcast_ref::<cairn_node::client::ClientError>().map(|_| Kind::Unreachable))
        })
        .unwrap_or(Kind::BadInput)
}

/// Writes `text` and a newline to stdout. A closed pipe (the reader went away, as with
/// `| head`) ends the process quietly with status 0; other write errors are ignored.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Writes `text` as is (no newline added), like [`print`].
pub fn print_raw(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Writes a line to stderr, ignoring failures (stderr may be a closed pipe too).
pub fn eprint(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.write_all(b"\n"));
}

/// Prints JSON: compact, or pretty.
pub fn print_json(v: &Value, compact: bool) {
    let text = if compact { v.to_string() } else { serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()) };
    print(&text);
}

/// Prints a result (JSON, nothing for `null`) or the error with its output; the exit status.
pub fn report(result: anyhow::Result<Value>, compact: bool) -> std::process::ExitCode {
    match result {
        Ok(Value::Null) => std::process::ExitCode::SUCCESS,
        Ok(v) => {
            print_json(&v, compact);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(output) = e.chain().find_map(|c| c.downcast_ref::<CliError>()).and_then(|c| c.output.as_ref()) {
                print_json(output, compact);
            }
            eprint(&format!("error: {e:#}"));
            std::process::ExitCode::from(kind_of(&e).code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_chain_and_default_to_bad_input() {
        assert_eq!(kind_of(&refused("no")), Kind::Refused);
        assert_eq!(kind_of(&unreachable("down").context("sending")), Kind::Unreachable);
        assert_eq!(kind_of(&anyhow::anyhow!("anything")), Kind::BadInput);
        let transport = cairn_node::client::ClientError { url: "http://x".into(), reason: "refused".into() };
        assert_eq!(kind_of(&anyhow::Error::from(transport)), Kind::Unreachable);
        assert_eq!([Kind::Refused, Kind::BadInput, Kind::Unreachable].map(Kind::code), [1, 2, 3]);
    }
}
