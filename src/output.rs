//! Writing command output to stdout. A reader that goes away early
//! (`sectriage kb explain … | head -1`) closes the pipe; that is a normal end
//! of the command, not a failure, so it surfaces as [`OutputError::Closed`],
//! which the command line turns into a quiet exit 0. `println!` would panic
//! instead.

use std::io::Write;

/// Why output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The reader closed standard output (EPIPE); stop quietly.
    #[error("standard output was closed by its reader")]
    Closed,
    #[error("cannot write to standard output: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for OutputError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            OutputError::Closed
        } else {
            OutputError::Io(e)
        }
    }
}

/// Writes `text` to standard output and flushes it.
///
/// # Errors
/// [`OutputError::Closed`] when the reader has gone away, [`OutputError::Io`] otherwise.
pub fn print(text: &str) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// [`print`] with a newline.
///
/// # Errors
/// As [`print`].
pub fn println(text: &str) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// True when `err` (or anything in its chain) is [`OutputError::Closed`].
pub fn is_closed(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if matches!(e.downcast_ref::<OutputError>(), Some(OutputError::Closed)) {
            return true;
        }
        cur = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_closed_other_errors_are_not() {
        let closed: OutputError = std::io::Error::from(std::io::ErrorKind::BrokenPipe).into();
        assert!(is_closed(&closed));
        let other: OutputError = std::io::Error::from(std::io::ErrorKind::PermissionDenied).into();
        assert!(!is_closed(&other));
    }
}
