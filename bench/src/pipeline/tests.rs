use super::outbox::{label, sample_line};
use super::*;

const SCRAPE: &str = "\
# HELP vanguard_outbox_jobs Pipeline jobs by state.
# TYPE vanguard_outbox_jobs gauge
vanguard_outbox_jobs{state=\"pending\"} 12
vanguard_outbox_jobs{state=\"running\"} 2
vanguard_outbox_jobs{state=\"done\"} 4000
vanguard_outbox_jobs{state=\"dead\"} 1
# HELP vanguard_outbox_oldest_pending_age_seconds Age of the oldest pending job (0 when none).
# TYPE vanguard_outbox_oldest_pending_age_seconds gauge
vanguard_outbox_oldest_pending_age_seconds 7
vanguard_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 3
";

#[test]
fn the_outbox_gauges_are_read_from_the_metrics_text() {
    let outbox = Outbox::parse(SCRAPE);
    assert_eq!(
        outbox,
        Some(Outbox {
            pending: 12,
            running: 2,
            done: 4000,
            dead: 1,
            oldest_pending_seconds: 7,
        })
    );
    assert_eq!(outbox.map(|o| o.backlog()), Some(14));
}

#[test]
fn a_scrape_without_the_outbox_family_has_no_outbox() {
    assert_eq!(Outbox::parse("vanguard_ready 1\n# HELP x y\n"), None);
}

#[test]
fn sample_lines_take_other_labels_timestamps_and_float_values() {
    assert_eq!(
        sample_line(r#"vanguard_outbox_jobs{engine="pg", state="done"} 1.5e3 1700000000"#),
        Some((
            "vanguard_outbox_jobs",
            r#"engine="pg", state="done""#,
            1500.0
        ))
    );
    assert_eq!(label(r#"engine="pg", state="done""#, "state"), Some("done"));
    assert_eq!(sample_line("# TYPE x gauge"), None);
    assert_eq!(sample_line("broken{state=\"x\" 1"), None);
}

#[test]
fn the_slope_of_points_on_a_line_is_its_gradient() {
    let points: Vec<(f64, f64)> = (0..10)
        .map(|x| (f64::from(x), 3.0 * f64::from(x) + 5.0))
        .collect();
    assert!((slope(&points) - 3.0).abs() < 1e-9);
    let noisy = [(0.0, 1.0), (1.0, 0.0), (2.0, 1.0), (3.0, 0.0)];
    assert!(slope(&noisy) < 0.0);
}

#[test]
fn too_few_points_have_no_slope() {
    assert!(slope(&[]).abs() < f64::EPSILON);
    assert!(slope(&[(1.0, 9.0)]).abs() < f64::EPSILON);
    assert!(slope(&[(2.0, 1.0), (2.0, 5.0)]).abs() < f64::EPSILON);
}

#[test]
fn a_backlog_that_settles_is_bounded() {
    let samples: Vec<(f64, f64)> = (0..=120)
        .map(|i| (f64::from(i) * 5.0, if i % 2 == 0 { 300.0 } else { 500.0 }))
        .collect();
    let verdict = Bounded::judge(&samples, 600.0);
    assert_eq!(
        verdict,
        Some(Bounded {
            reference_at: 5.0,
            reference: 500.0,
            limit: 1_100.0,
            second_half_max: 500.0,
            bounded: true,
        })
    );
}

#[test]
fn a_backlog_that_keeps_growing_is_not_bounded() {
    // 2 jobs/s more than the workers finish: 1 200 jobs after 10 min.
    let samples: Vec<(f64, f64)> = (0..=120)
        .map(|i| (f64::from(i) * 5.0, f64::from(i) * 10.0))
        .collect();
    let verdict = Bounded::judge(&samples, 600.0);
    assert_eq!(verdict.map(|v| v.bounded), Some(false));
    assert_eq!(verdict.map(|v| v.second_half_max), Some(1_200.0));
}

#[test]
fn a_short_soak_takes_its_reference_at_a_tenth_of_its_length() {
    let samples = [
        (0.0, 0.0),
        (0.25, 40.0),
        (0.5, 50.0),
        (2.0, 180.0),
        (3.0, 170.0),
    ];
    let verdict = Bounded::judge(&samples, 3.0);
    assert_eq!(
        verdict.map(|v| (v.reference_at, v.reference)),
        Some((0.5, 50.0))
    );
    assert_eq!(verdict.map(|v| v.bounded), Some(true));
    assert_eq!(Bounded::judge(&[], 3.0), None);
}

#[test]
fn keeping_up_compares_steps_with_four_per_claim() {
    assert!((keeps_up(400.0, 100.0) - 100.0).abs() < 1e-9);
    assert!((keeps_up(100.0, 100.0) - 25.0).abs() < 1e-9);
    assert!(keeps_up(10.0, 0.0).abs() < f64::EPSILON);
    let before = Outbox::default();
    let after = Outbox {
        done: 500,
        ..Outbox::default()
    };
    assert!((steps_per_second(&before, &after, Duration::from_secs(2)) - 250.0).abs() < 1e-9);
}
