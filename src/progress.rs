//! Progress: where the learner is and which steps have passed, per track.
//!
//! One small JSON file, `$XDG_STATE_HOME/cognito-learning/progress.json`:
//!
//! ```json
//! { "version": 1, "lesson": "11-the-flow", "step": 2, "lab": "blank",
//!   "passed": { "local": { "11-the-flow": [0, 1] }, "aws": {} } }
//! ```
//!
//! Steps are counted from 0. It is written whole to a temporary file and renamed, so a crash
//! never leaves half a file; an unreadable file is set aside as `progress.json.bad`, not lost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lessons::Track;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub version: u32,
    #[serde(default)]
    pub lesson: String,
    #[serde(default)]
    pub step: usize,
    #[serde(default)]
    pub passed: BTreeMap<String, BTreeMap<String, BTreeSet<usize>>>,
    /// How the learner wants the local lab started, once asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<LabStart>,
}

/// How the guide starts the local lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LabStart {
    /// Everything made: the pool, users, target group, listener and rule (to watch).
    Built,
    /// Only the load balancer, the instance and its log group: the learner builds the rest.
    Blank,
}

/// The default file.
pub fn default_path() -> PathBuf {
    cognito_learning_contract::lab::default_state_dir()
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        .join("progress.json")
}

fn key(track: Track) -> String {
    track.to_string()
}

impl Progress {
    /// Reads `path`; a missing file is a fresh start, a broken one is moved aside and reported.
    pub fn load(path: &Path) -> (Self, Option<String>) {
        let fresh = Self {
            version: 1,
            ..Self::default()
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (fresh, None),
            Err(e) => return (fresh, Some(format!("{}: {e}", path.display()))),
        };
        match serde_json::from_str::<Self>(&text) {
            Ok(p) if p.version == 1 => (p, None),
            res => {
                let why = res.map_or_else(|e| e.to_string(), |p| format!("version {}", p.version));
                let aside = path.with_extension("json.bad");
                let _ = std::fs::rename(path, &aside);
                let note = format!(
                    "{} could not be read ({why}); kept as {} and started afresh",
                    path.display(),
                    aside.display()
                );
                (fresh, Some(note))
            }
        }
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, path)
    }

    pub fn passed(&self, track: Track, lesson: &str, step: usize) -> bool {
        self.passed
            .get(&key(track))
            .and_then(|l| l.get(lesson))
            .is_some_and(|s| s.contains(&step))
    }

    /// How many of a lesson's steps have passed.
    pub fn count(&self, track: Track, lesson: &str) -> usize {
        self.passed
            .get(&key(track))
            .and_then(|l| l.get(lesson))
            .map_or(0, BTreeSet::len)
    }

    pub fn mark(&mut self, track: Track, lesson: &str, step: usize) {
        self.passed
            .entry(key(track))
            .or_default()
            .entry(lesson.to_owned())
            .or_default()
            .insert(step);
    }

    /// Forgets a lesson's passed steps on `track`.
    pub fn reset(&mut self, track: Track, lesson: &str) {
        if let Some(l) = self.passed.get_mut(&key(track)) {
            l.remove(lesson);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_a_save_and_a_broken_file_is_kept_aside() {
        let dir = std::env::temp_dir().join(format!("cl-progress-{}", std::process::id()));
        let path = dir.join("progress.json");
        let (mut p, note) = Progress::load(&path);
        assert!(note.is_none());
        p.mark(Track::Local, "11-the-flow", 2);
        p.lesson = "11-the-flow".into();
        p.lab = Some(LabStart::Blank);
        p.save(&path).unwrap();
        let (back, _) = Progress::load(&path);
        assert!(back.passed(Track::Local, "11-the-flow", 2));
        assert!(!back.passed(Track::Cloud, "11-the-flow", 2));
        assert_eq!(back.count(Track::Local, "11-the-flow"), 1);
        assert_eq!(back.lab, Some(LabStart::Blank));

        std::fs::write(&path, "{ not json").unwrap();
        let (fresh, note) = Progress::load(&path);
        assert_eq!(fresh.count(Track::Local, "11-the-flow"), 0);
        assert!(note.unwrap().contains("started afresh"));
        assert_eq!(
            std::fs::read_to_string(path.with_extension("json.bad")).unwrap(),
            "{ not json"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
