//! The short fuzzing pass that CI runs: every fuzz target over its seed inputs
//! (`fuzz/seeds.tsv`) and a fixed number of deterministic mutations of each, under
//! `catch_unwind`. The coverage-guided runs are `cargo xtask fuzz`; both call the same entry
//! points in `bpkit::fuzzing`.

use std::path::Path;

use bpkit::fuzzing::{Rng, TARGETS, Target, mutate, seed_files};

/// The signing crate's targets (its entry points are in `bpkit_signing::fuzzing`).
const SIGNING_TARGETS: &[Target] = &[
    ("pem", bpkit_signing::fuzzing::pem),
    ("dsse", bpkit_signing::fuzzing::dsse),
    ("bundle", bpkit_signing::fuzzing::bundle),
    ("simple_signing", bpkit_signing::fuzzing::simple_signing),
];

/// Mutated inputs per target (spread over its seeds).
const MUTATIONS: usize = 3_000;

#[test]
fn every_target_survives_its_seeds_and_their_mutations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("../shared").is_dir() {
        eprintln!(
            "WARNING: ../shared is absent: seeds from the corpus and conformance data are SKIPPED"
        );
    }
    let mut failures = Vec::new();
    for (name, entry) in TARGETS.iter().chain(SIGNING_TARGETS) {
        let seeds: Vec<Vec<u8>> = seed_files(&root, name)
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .collect();
        assert!(!seeds.is_empty(), "target `{name}` has no seeds");
        let mut rng = Rng::new(0x5eed ^ name.len() as u64);
        let mut runs = 0;
        let mut run = |input: &[u8], failures: &mut Vec<String>| {
            runs += 1;
            if std::panic::catch_unwind(|| entry(input)).is_err() {
                failures.push(format!(
                    "{name}: panicked on {} bytes: {:?}",
                    input.len(),
                    String::from_utf8_lossy(&input[..input.len().min(200)])
                ));
            }
        };
        for s in &seeds {
            run(s, &mut failures);
        }
        for i in 0..MUTATIONS {
            let input = mutate(&seeds[i % seeds.len()], &mut rng);
            run(&input, &mut failures);
        }
        eprintln!("fuzz seeds: {name}: {} seeds, {runs} runs", seeds.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mutations_are_deterministic_and_change_the_input() {
    let seed = b"{{ .application.name }}".to_vec();
    let a: Vec<Vec<u8>> = {
        let mut rng = Rng::new(7);
        (0..50).map(|_| mutate(&seed, &mut rng)).collect()
    };
    let b: Vec<Vec<u8>> = {
        let mut rng = Rng::new(7);
        (0..50).map(|_| mutate(&seed, &mut rng)).collect()
    };
    assert_eq!(a, b);
    assert!(a.iter().filter(|m| **m != seed).count() > 40);
}
