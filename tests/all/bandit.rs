//! The bandit example (`cargo run --example bandit`), run: a host driving a
//! learning network must come to prefer the arm that pays more.

#[allow(dead_code)] // `main` and the plot serve `cargo run --example bandit`.
#[path = "../../examples/bandit.rs"]
mod example;

#[test]
fn the_bandit_example_learns_to_choose_the_better_arm() {
    const TRIALS: usize = 300;
    let (history, counts) = example::play(TRIALS).expect("the example runs");
    assert_eq!(history.len(), TRIALS);
    assert!(counts.epochs > 0 && counts.synaptic_updates > 0);
    let chose_a = |trials: &[example::Trial]| {
        trials.iter().filter(|t| t.choice == 0).count() as f64 / trials.len() as f64
    };
    let (first, last) = (&history[..50], &history[TRIALS - 100..]);
    // Arm A pays 0.8, arm B 0.2; with 10 % exploration a learner that
    // settled on A chooses it in about 95 % of trials.
    assert!(
        chose_a(last) >= 0.8,
        "arm A chosen in {:.0} % of the last 100 trials",
        100.0 * chose_a(last)
    );
    assert!(chose_a(last) > chose_a(first));
    let end = &history[TRIALS - 1];
    assert!(
        end.weights[0] > end.weights[1],
        "weights onto A {} and B {}",
        end.weights[0],
        end.weights[1]
    );
}
