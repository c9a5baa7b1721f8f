//! A control plane's state kept in one JSON file in the state directory (0600): the user pools
//! (`cognito-idp.json`) and the load balancer (`elbv2.json`). It is written after each change,
//! so what a learner built survives a restart or a crash, and counts its changes, so that the
//! data plane knows when to look again. It remembers the seed it grew from: a lab started with
//! another seed (`--blank`, another `--config`) starts from that one.

use std::path::PathBuf;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::aws::ApiError;

#[derive(Debug, Serialize, Deserialize)]
struct File<T> {
    /// The seed the state grew from, as text.
    seed: String,
    /// (`pools` in the user pools' first files.)
    #[serde(alias = "pools")]
    state: T,
}

#[derive(Debug)]
pub struct Saved<T> {
    path: Option<PathBuf>,
    /// What it holds, for messages ("its user pools").
    what: &'static str,
    file: RwLock<File<T>>,
    generation: AtomicU64,
}

impl<T: Serialize + DeserializeOwned> Saved<T> {
    /// The state kept at `path` if it grew from `seed`, or a `fresh` one; then written back.
    pub fn open(
        path: Option<PathBuf>,
        what: &'static str,
        seed: String,
        fresh: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<Self> {
        let kept = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<File<T>>(&b).ok())
            .filter(|f| f.seed == seed);
        let file = match kept {
            Some(f) => f,
            None => File {
                seed,
                state: fresh()?,
            },
        };
        let saved = Self {
            path,
            what,
            file: RwLock::new(file),
            generation: AtomicU64::new(1),
        };
        saved.save()?;
        Ok(saved)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self
            .file
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .state)
    }

    /// Runs a change. A change checks what it is given before it changes anything, so a
    /// refused one changes nothing. When it succeeds, `then` runs (with the state readable
    /// again), the change is counted, and the file written before the answer.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut T) -> Result<R, ApiError>,
        then: impl FnOnce(),
    ) -> Result<R, ApiError> {
        let r = f(&mut self
            .file
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .state)?;
        then();
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.save() {
            eprintln!("the lab could not save {}: {e:#}", self.what);
            return Err(ApiError::internal());
        }
        Ok(r)
    }

    fn save(&self) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(
            &*self
                .file
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )?;
        let tmp = path.with_extension("json.tmp");
        crate::state::write_private(&tmp, &bytes)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}
