//! What several of the lab's test files share.

use cognito_learning_emulator::{Lab, LabOptions};

/// A lab on free ports with a state directory of its own (returned, to look in or remove).
pub async fn lab(name: &str) -> (Lab, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "cl-{name}-{}",
        cognito_learning_emulator::state::uuid()
    ));
    let lab = Lab::start(LabOptions {
        state_dir: dir.clone(),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap_or_else(|e| panic!("the lab did not start: {e:#}"));
    (lab, dir)
}
