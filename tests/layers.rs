//! Imports point down the layers: engine ← exercise ← sandbox ← session ← web. A module may use the
//! layers below it (and the crate-level utilities: config, shutdown, telemetry), never one above.
use std::path::Path;

const LAYERS: &[&str] = &["engine", "exercise", "sandbox", "session", "web"];

fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    found
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("server");
    let mut upward = Vec::new();
    for (level, layer) in LAYERS.iter().enumerate() {
        for (file, text) in sources(&root.join(layer)) {
            for above in &LAYERS[level + 1..] {
                for (number, line) in text.lines().enumerate() {
                    if line.contains(&format!("crate::{above}::"))
                        || line.contains(&format!("crate::{above}}}"))
                    {
                        upward.push(format!(
                            "{file}:{}: {layer} uses {above}: {}",
                            number + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up:\n{}",
        upward.join("\n")
    );
}
