//! Policy sets for the benchmarks.

/// `count` policies: one on `HighThroughputDifference` (with amount `+first_amount`), the rest
/// on other alerts, in the shapes users write (matchers, regexes, bounds, cooldowns, several
/// actions, comments).
pub fn policies(count: usize, first_amount: u32) -> String {
    let mut text = format!(
        "when alert HighThroughputDifference on stream $s where env =~ \"prod|staging\" scale transform +{first_amount} max 8 cooldown 2m\n",
    );
    for i in 1..count {
        let policy = match i % 4 {
            0 => format!("when alert Alert{i} on stream $s scale transform +1 max 8 cooldown 5m\n"),
            1 => format!("when alert Alert{i} on stream $s where env =~ \"prod|staging\" and team != \"data\" scale transform to 1\n"),
            2 => format!("when resolved alert Alert{i} on stream \"stream-{i}\" scale log -1 min 1\n"),
            _ => format!("# team {i}\nwhen alert Alert{i}\n  on stream $s app $a\n  where zone !~ \"eu-.*\"\n  scale $a +2 max 6 min 2\n  scale log +1 max 4\n"),
        };
        text.push_str(&policy);
    }
    text
}
