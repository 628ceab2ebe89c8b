//! The sample import file `examples/data/tasks.csv`: realistic task rows with about 1% of
//! deliberately bad ones, generated deterministically (the same row count always gives the same
//! bytes; a test checks the checked-in file against it).

use std::io::Write;

/// SplitMix64: tiny, deterministic, good enough for sample data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const VERBS: &[&str] = &[
    "Fix",
    "Add",
    "Refactor",
    "Document",
    "Investigate",
    "Remove",
    "Speed up",
    "Migrate",
    "Test",
    "Review",
    "Design",
    "Automate",
    "Localize",
    "Harden",
    "Simplify",
    "Monitor",
];
const OBJECTS: &[&str] = &[
    "login redirect loop",
    "CSV export of reports",
    "billing webhook retries",
    "search ranking",
    "onboarding checklist",
    "password reset email",
    "dark mode colours",
    "audit log retention",
    "invoice PDF layout",
    "API rate limiter",
    "mobile push notifications",
    "SSO for SAML",
    "timezone handling in reminders",
    "dashboard load time",
    "file upload size limit",
    "flaky integration tests",
    "database connection pool",
    "user avatar cropping",
    "permissions on shared views",
    "release notes page",
    "backup restore procedure",
    "error messages in forms",
    "keyboard shortcuts",
    "Slack integration",
    "data import wizard",
];
const QUALIFIERS: &[&str] = &[
    "",
    "",
    "",
    " for enterprise plan",
    " on Android",
    " on iOS",
    " in EU region",
    " (follow-up)",
    " before v2 launch",
    " for new customers",
];
const PROJECTS: &[&str] = &[
    "Apollo",
    "Borealis",
    "Cascade",
    "Delta Migration",
    "Everest",
    "Falcon Mobile",
    "Gemini Billing",
    "Helios Search",
];
const STATES: &[&str] = &["Open", "Open", "In Progress", "In Progress", "Done"];
const PRIORITIES: &[&str] = &["Low", "Medium", "Medium", "High", "Critical"];
const TAGS: &[&str] = &["backend", "frontend", "api", "docs"];
const DAYS_IN_MONTH: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes the header and `rows` sample rows to `out`.
pub fn write_tasks_csv(out: &mut impl Write, rows: u64) -> std::io::Result<()> {
    let mut rng = Rng(0x5EED_F1BE_7200_0001);
    writeln!(
        out,
        "External Id,Name,Project,State,Priority,Tags,Estimate,Effort,Due,Done"
    )?;
    for i in 1..=rows {
        let ext = format!("TASK-{i:05}");
        let mut name = format!(
            "{} {}{}",
            rng.pick(VERBS),
            rng.pick(OBJECTS),
            rng.pick(QUALIFIERS)
        );
        let mut project = rng.pick(PROJECTS).to_string();
        let state = rng.pick(STATES);
        let mut state_s = state.to_string();
        let mut priority = rng.pick(PRIORITIES).to_string();
        let ntags = rng.below(3);
        let mut tags: Vec<&str> = Vec::new();
        for _ in 0..ntags {
            let t = rng.pick(TAGS);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let mut tags_s = tags.join(", ");
        let mut estimate = format!("{}.{}", rng.below(40), [0, 5][rng.below(2) as usize]);
        let mut effort = (1 + rng.below(13)).to_string();
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(DAYS_IN_MONTH[(month - 1) as usize]);
        let year = 2026 + rng.below(2);
        let mut due = format!("{year}-{month:02}-{day:02}");
        if rng.below(10) == 0 {
            due.clear(); // no due date: fine
        }
        let mut done = if state == "Done" { "true" } else { "false" }.to_string();
        // Roughly 1.2% deliberately bad rows, one defect each.
        if rng.below(83) == 0 {
            match rng.below(9) {
                0 => due = format!("{year}-02-30"),
                1 => due = "next week".to_string(),
                2 => estimate = "two hours".to_string(),
                3 => priority = "Urgent".to_string(),
                4 => name.clear(),
                5 => project = "Zeppelin".to_string(),
                6 => state_s = "Blocked".to_string(),
                7 => effort = "1.5".to_string(),
                _ => {
                    done = "maybe".to_string();
                    tags_s = "backend, urgent-ish".to_string();
                }
            }
        }
        let line = [
            ext.as_str(),
            &name,
            &project,
            &state_s,
            &priority,
            &tags_s,
            &estimate,
            &effort,
            &due,
            &done,
        ]
        .iter()
        .map(|s| csv_field(s))
        .collect::<Vec<_>>()
        .join(",");
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn checked_in_sample_matches_the_generator() {
        let mut buf = Vec::new();
        super::write_tasks_csv(&mut buf, 10_000).unwrap();
        let checked_in = include_bytes!("../../examples/data/tasks.csv");
        assert!(
            buf.as_slice() == checked_in.as_slice(),
            "regenerate: cargo run -p fibery-cli --example gen_data"
        );
    }
}
