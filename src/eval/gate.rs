//! Gates: `--min-accuracy`, `--min-coverage`, `--max-dangerous` turn a run
//! into pass/fail (pure).

use serde::Serialize;

use super::report::{fmt_ratio, Headline};

/// The thresholds asked for; all optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Gates {
    /// Lowest accepted accuracy on decided cases.
    pub min_accuracy: Option<f64>,
    /// Lowest accepted coverage (fraction decided).
    pub min_coverage: Option<f64>,
    /// Most dangerous errors accepted.
    pub max_dangerous: Option<usize>,
}

/// The outcome of checking the gates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    pub gates: Gates,
    pub passed: bool,
    /// One phrase per failed gate.
    pub failures: Vec<String>,
}

impl GateResult {
    /// The one line printed on stderr.
    pub fn line(&self) -> String {
        if self.passed {
            "gates passed".to_string()
        } else {
            format!("gate failed: {}", self.failures.join("; "))
        }
    }
}

impl Gates {
    pub fn any(&self) -> bool {
        self.min_accuracy.is_some() || self.min_coverage.is_some() || self.max_dangerous.is_some()
    }

    /// Checks the headline numbers; an undefined accuracy or coverage fails its gate.
    pub fn check(&self, h: &Headline) -> GateResult {
        let mut failures = Vec::new();
        if let Some(min) = self.min_accuracy {
            if h.decided_accuracy.is_none_or(|a| a < min) {
                failures.push(format!(
                    "accuracy on decided cases {} < {min}",
                    fmt_ratio(h.decided_accuracy)
                ));
            }
        }
        if let Some(min) = self.min_coverage {
            if h.coverage.is_none_or(|c| c < min) {
                failures.push(format!("coverage {} < {min}", fmt_ratio(h.coverage)));
            }
        }
        if let Some(max) = self.max_dangerous {
            if h.dangerous > max {
                failures.push(format!("{} dangerous errors > {max}", h.dangerous));
            }
        }
        GateResult {
            gates: *self,
            passed: failures.is_empty(),
            failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(decided_accuracy: Option<f64>, coverage: Option<f64>, dangerous: usize) -> Headline {
        Headline {
            file: None,
            cases: 10,
            correct: 0,
            accuracy: None,
            decided: 0,
            decided_accuracy,
            coverage,
            dangerous,
            macro_f1: None,
            security_precision: None,
            security_recall: None,
            provenance_precision: None,
            provenance_recall: None,
        }
    }

    #[test]
    fn pass_fail_and_undefined() {
        let g = Gates {
            min_accuracy: Some(0.8),
            min_coverage: Some(0.5),
            max_dangerous: Some(0),
        };
        assert!(g.check(&h(Some(0.8), Some(0.5), 0)).passed);
        let r = g.check(&h(Some(0.7), Some(0.4), 2));
        assert!(!r.passed);
        assert_eq!(r.failures.len(), 3);
        assert_eq!(
            r.line(),
            "gate failed: accuracy on decided cases 0.700 < 0.8; coverage 0.400 < 0.5; 2 dangerous errors > 0"
        );
        // All abstain: accuracy is undefined, so an accuracy gate cannot pass.
        let r = g.check(&h(None, Some(0.0), 0));
        assert!(r.failures[0].contains("n/a"), "{:?}", r.failures);
        assert!(Gates::default().check(&h(None, None, 9)).passed);
        assert!(!Gates::default().any());
    }
}
