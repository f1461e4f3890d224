//! Scoring metrics (pure): confusion matrix, precision/recall/F1, the
//! abstention curve, binary detectors and latency percentiles.
//!
//! Every ratio with an empty denominator is `None` (JSON `null`, Markdown
//! "n/a"), never NaN: an empty class says nothing, it does not score zero.

use serde::Serialize;

use crate::kb::UseCase;
use crate::triage::Confidence;

/// The three classes in report order.
pub const CLASSES: [UseCase; 3] = [
    UseCase::Virtualization,
    UseCase::NonVirtualization,
    UseCase::NeedsJudgement,
];

fn index(c: UseCase) -> usize {
    match c {
        UseCase::Virtualization => 0,
        UseCase::NonVirtualization => 1,
        UseCase::NeedsJudgement => 2,
    }
}

/// `num / den`, or `None` when `den` is 0.
pub fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Harmonic mean of precision and recall; `None` when either is unknown.
pub fn f1(precision: Option<f64>, recall: Option<f64>) -> Option<f64> {
    let (p, r) = (precision?, recall?);
    Some(if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    })
}

/// One scored case as the metrics see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub label: UseCase,
    pub predicted: UseCase,
    /// [`Confidence::score`] of the prediction.
    pub score: f64,
}

impl Scored {
    pub fn correct(&self) -> bool {
        self.label == self.predicted
    }

    /// A prediction other than needs-judgement commits to an answer.
    pub fn decided(&self) -> bool {
        self.predicted != UseCase::NeedsJudgement
    }
}

/// Counts by (label, prediction), in [`CLASSES`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// `counts[label][predicted]`.
    pub counts: [[usize; 3]; 3],
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub class: UseCase,
    /// Cases labelled with this class.
    pub support: usize,
    /// Cases predicted as this class.
    pub predicted: usize,
    pub correct: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Confusion {
    pub fn new<'a>(cases: impl IntoIterator<Item = &'a Scored>) -> Confusion {
        let mut m = Confusion::default();
        for c in cases {
            m.counts[index(c.label)][index(c.predicted)] += 1;
        }
        m
    }

    pub fn get(&self, label: UseCase, predicted: UseCase) -> usize {
        self.counts[index(label)][index(predicted)]
    }

    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    pub fn correct(&self) -> usize {
        (0..3).map(|i| self.counts[i][i]).sum()
    }

    /// Exact-match accuracy over all cases (needs-judgement is a class like the others).
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.correct(), self.total())
    }

    pub fn class(&self, class: UseCase) -> ClassMetrics {
        let i = index(class);
        let support: usize = self.counts[i].iter().sum();
        let predicted: usize = (0..3).map(|l| self.counts[l][i]).sum();
        let correct = self.counts[i][i];
        let precision = ratio(correct, predicted);
        let recall = ratio(correct, support);
        ClassMetrics {
            class,
            support,
            predicted,
            correct,
            precision,
            recall,
            f1: f1(precision, recall),
        }
    }

    pub fn per_class(&self) -> Vec<ClassMetrics> {
        CLASSES.iter().map(|&c| self.class(c)).collect()
    }

    /// Mean F1 over the classes that have one (`None` when none has).
    pub fn macro_f1(&self) -> Option<f64> {
        let f: Vec<f64> = self.per_class().iter().filter_map(|c| c.f1).collect();
        (!f.is_empty()).then(|| f.iter().sum::<f64>() / f.len() as f64)
    }
}

/// One point of the abstention curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Predictions scoring below this are treated as abstentions.
    pub threshold: f64,
    pub decided: usize,
    pub correct: usize,
    /// Fraction of all cases decided; `None` when there are no cases.
    pub coverage: Option<f64>,
    /// Accuracy on the decided cases; `None` when nothing is decided.
    pub accuracy: Option<f64>,
}

/// The thresholds of the curve: each confidence level's score, lowest first.
pub fn thresholds() -> [f64; 3] {
    [
        Confidence::Low.score(),
        Confidence::Medium.score(),
        Confidence::High.score(),
    ]
}

/// A case counts as decided at `threshold` when it is not needs-judgement and scores at least that.
pub fn curve_point(cases: &[Scored], threshold: f64) -> CurvePoint {
    let decided: Vec<&Scored> = cases
        .iter()
        .filter(|c| c.decided() && c.score >= threshold)
        .collect();
    let correct = decided.iter().filter(|c| c.correct()).count();
    CurvePoint {
        threshold,
        decided: decided.len(),
        correct,
        coverage: ratio(decided.len(), cases.len()),
        accuracy: ratio(correct, decided.len()),
    }
}

/// Accuracy against coverage at every threshold, lowest threshold (highest coverage) first.
pub fn abstention_curve(cases: &[Scored]) -> Vec<CurvePoint> {
    thresholds()
        .iter()
        .map(|&t| curve_point(cases, t))
        .collect()
}

/// A yes/no detector scored against labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Binary {
    pub cases: usize,
    pub true_positive: usize,
    pub false_positive: usize,
    pub false_negative: usize,
    pub true_negative: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Binary {
    /// Scores `(label, predicted)` pairs; positive is `true`.
    pub fn new(pairs: impl IntoIterator<Item = (bool, bool)>) -> Binary {
        let mut b = Binary::default();
        for (label, predicted) in pairs {
            b.cases += 1;
            match (label, predicted) {
                (true, true) => b.true_positive += 1,
                (false, true) => b.false_positive += 1,
                (true, false) => b.false_negative += 1,
                (false, false) => b.true_negative += 1,
            }
        }
        b.precision = ratio(b.true_positive, b.true_positive + b.false_positive);
        b.recall = ratio(b.true_positive, b.true_positive + b.false_negative);
        b.f1 = f1(b.precision, b.recall);
        b
    }
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted values; `None` when empty.
pub fn percentile(values: &[u64], p: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use UseCase::{NeedsJudgement as J, NonVirtualization as N, Virtualization as V};

    fn s(label: UseCase, predicted: UseCase, score: f64) -> Scored {
        Scored {
            label,
            predicted,
            score,
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    /// Worked by hand:
    /// labels V V V N N J, predictions V V N N J V.
    /// V: predicted 3 (2 right) → P 2/3, support 3 → R 2/3, F1 2/3.
    /// N: predicted 2 (1 right) → P 1/2, support 2 → R 1/2, F1 1/2.
    /// J: predicted 1 (0 right) → P 0, support 1 → R 0, F1 0.
    #[test]
    fn confusion_and_per_class_by_hand() {
        let cases = [
            s(V, V, 0.9),
            s(V, V, 0.6),
            s(V, N, 0.9),
            s(N, N, 0.9),
            s(N, J, 0.3),
            s(J, V, 0.3),
        ];
        let m = Confusion::new(&cases);
        assert_eq!(m.counts, [[2, 1, 0], [0, 1, 1], [1, 0, 0]]);
        assert_eq!((m.total(), m.correct()), (6, 3));
        assert!(close(m.accuracy(), 0.5));
        let [v, n, j] = [m.class(V), m.class(N), m.class(J)];
        assert!(close(v.precision, 2.0 / 3.0) && close(v.recall, 2.0 / 3.0));
        assert!(close(v.f1, 2.0 / 3.0));
        assert!(close(n.precision, 0.5) && close(n.recall, 0.5) && close(n.f1, 0.5));
        assert!(close(j.precision, 0.0) && close(j.recall, 0.0) && close(j.f1, 0.0));
        assert!(close(m.macro_f1(), (2.0 / 3.0 + 0.5) / 3.0));
    }

    /// Abstention curve on the same cases. Decided (not J) at 0.3: 5 cases, 3 right
    /// (V→V twice, N→N) → coverage 5/6, accuracy 3/5. At 0.6: V→V 0.9, V→V 0.6, V→N 0.9,
    /// N→N 0.9 → 4 decided, 3 right. At 0.9: V→V, V→N, N→N → 3 decided, 2 right.
    #[test]
    fn abstention_curve_by_hand() {
        let cases = [
            s(V, V, 0.9),
            s(V, V, 0.6),
            s(V, N, 0.9),
            s(N, N, 0.9),
            s(N, J, 0.3),
            s(J, V, 0.3),
        ];
        let c = abstention_curve(&cases);
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].decided, c[0].correct), (5, 3));
        assert!(close(c[0].coverage, 5.0 / 6.0) && close(c[0].accuracy, 0.6));
        assert_eq!((c[1].decided, c[1].correct), (4, 3));
        assert!(close(c[1].accuracy, 0.75));
        assert_eq!((c[2].decided, c[2].correct), (3, 2));
        assert!(close(c[2].coverage, 0.5));
    }

    #[test]
    fn empty_classes_are_none_not_nan() {
        // No case is labelled or predicted non-virtualization or needs-judgement.
        let cases = [s(V, V, 0.9), s(V, V, 0.3)];
        let m = Confusion::new(&cases);
        let n = m.class(N);
        assert_eq!((n.support, n.predicted), (0, 0));
        assert_eq!((n.precision, n.recall, n.f1), (None, None, None));
        assert!(close(m.macro_f1(), 1.0));
        let json = serde_json::to_string(&n).unwrap();
        assert!(json.contains("\"precision\":null"), "{json}");
        assert!(!json.contains("NaN"));
        // Predicted but never labelled: precision 0, recall unknown.
        let m = Confusion::new(&[s(V, J, 0.3)]);
        let j = m.class(J);
        assert!(close(j.precision, 0.0));
        assert_eq!((j.recall, j.f1), (None, None));
        // No cases at all.
        let empty = Confusion::new(&[]);
        assert_eq!((empty.accuracy(), empty.macro_f1()), (None, None));
        assert_eq!(curve_point(&[], 0.3).coverage, None);
    }

    #[test]
    fn all_abstain_has_zero_coverage_and_no_accuracy() {
        let cases = [s(V, J, 0.3), s(N, J, 0.6), s(J, J, 0.3)];
        for p in abstention_curve(&cases) {
            assert_eq!(p.decided, 0);
            assert!(close(p.coverage, 0.0));
            assert_eq!(p.accuracy, None);
        }
        // Still one exact match: the needs-judgement case.
        assert!(close(Confusion::new(&cases).accuracy(), 1.0 / 3.0));
    }

    #[test]
    fn binary_by_hand_and_empty() {
        // (label, predicted): TP, TP, FP, FN, TN → P 2/3, R 2/3.
        let b = Binary::new([
            (true, true),
            (true, true),
            (false, true),
            (true, false),
            (false, false),
        ]);
        assert_eq!(
            (
                b.true_positive,
                b.false_positive,
                b.false_negative,
                b.true_negative
            ),
            (2, 1, 1, 1)
        );
        assert!(close(b.precision, 2.0 / 3.0) && close(b.recall, 2.0 / 3.0));
        // Nothing predicted positive, nothing labelled positive.
        let none = Binary::new([(false, false)]);
        assert_eq!((none.precision, none.recall, none.f1), (None, None, None));
        assert_eq!(Binary::new([]).cases, 0);
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 95.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(10));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
