//! Record and replay of LLM responses, keyed by the full request.
//!
//! A run recorded once can be repeated exactly, and CI can replay a recorded
//! evaluation without a model. The key is the SHA-256 of the request body as
//! sent (model, messages, response_format, sampling parameters), so any change
//! to the prompt, the evidence or the report is a miss.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::LlmError;

/// How the cache is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CacheMode {
    /// Answer from the cache when possible, otherwise call the model and record.
    ReadWrite,
    /// Only answer from the cache; a miss is an error (for CI).
    Replay,
    /// Always call the model and (over)write the recording.
    Record,
}

/// A directory of recorded responses, one JSON file per request.
#[derive(Debug, Clone)]
pub struct ResponseCache {
    dir: PathBuf,
    mode: CacheMode,
}

impl ResponseCache {
    /// Opens (and creates) a cache directory.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: &Path, mode: CacheMode) -> std::io::Result<ResponseCache> {
        std::fs::create_dir_all(dir)?;
        Ok(ResponseCache {
            dir: dir.to_path_buf(),
            mode,
        })
    }

    /// The key of a request body.
    pub fn key(body: &str) -> String {
        Sha256::digest(body.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn path(&self, request: &str) -> PathBuf {
        let key = Self::key(request);
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    /// The recorded response, if any.
    ///
    /// # Errors
    /// [`LlmError::NotRecorded`] on a miss in replay mode.
    pub fn lookup(&self, request: &str) -> Result<Option<Value>, LlmError> {
        if self.mode == CacheMode::Record {
            return Ok(None);
        }
        let path = self.path(request);
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(v) => Ok(Some(v)),
                Err(_) if self.mode == CacheMode::Replay => {
                    Err(LlmError::NotRecorded(path.display().to_string()))
                }
                Err(_) => Ok(None),
            },
            Err(_) if self.mode == CacheMode::Replay => {
                Err(LlmError::NotRecorded(self.dir.display().to_string()))
            }
            Err(_) => Ok(None),
        }
    }

    /// Records a response (not in replay mode).
    ///
    /// # Errors
    /// [`LlmError::Invalid`] when the file cannot be written.
    pub fn store(&self, request: &str, reply: &Value) -> Result<(), LlmError> {
        if self.mode == CacheMode::Replay {
            return Ok(());
        }
        let path = self.path(request);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Write then rename, so a crash never leaves half a recording.
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(reply).unwrap_or_default())?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            LlmError::Invalid(format!(
                "cannot record the response in {}: {e}",
                path.display()
            ))
        })
    }
}
