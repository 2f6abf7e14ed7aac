//! The message-state colours of the playground (`--st-*` in `static/css/playground.css`, light and dark)
//! stay apart for people with the common colour-vision deficiencies, and each reads as text on the
//! panel it is drawn on.
//!
//! Each colour is simulated for deuteranopia, protanopia and tritanopia (Machado, Oliveira and Fernandes
//! 2009, severity 1, applied to linear RGB) and every pair is compared with CIEDE2000 in CIELAB (D65).
//! Shapes carry the state too (see `static/js/glyphs.js`); colour must still not mislead.
//! `cargo test --test palette -- --nocapture` prints the closest pairs.

/// The smallest CIEDE2000 difference allowed between two states, for every vision simulated.
const MIN_DELTA_E: f64 = 10.0;
/// WCAG AA for normal text: state colours are used for tags, counts and labels.
const MIN_CONTRAST: f64 = 4.5;
/// Every state a message can be drawn in.
const STATES: [&str; 7] = ["flight", "ok", "retry", "dead", "dup", "order", "lost"];

const DEUTERANOPIA: [[f64; 3]; 3] = [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.011820, 0.042940, 0.968881],
];
const PROTANOPIA: [[f64; 3]; 3] = [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
];
const TRITANOPIA: [[f64; 3]; 3] = [
    [1.255528, -0.076749, -0.178779],
    [-0.078411, 0.930809, 0.147602],
    [0.004733, 0.691367, 0.303900],
];
const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

#[test]
fn state_colours_survive_colour_vision_deficiencies() {
    let playground = include_str!("../static/css/playground.css");
    let app = include_str!("../static/css/app.css");
    let (light, dark) = playground
        .split_once("@media (prefers-color-scheme: dark)")
        .expect("a dark block in playground.css");
    let (app_light, app_dark) = app
        .split_once("@media (prefers-color-scheme: dark)")
        .expect("a dark block in app.css");
    let mut failures = Vec::new();
    for (scheme, css, app) in [("light", light, app_light), ("dark", dark, app_dark)] {
        let colours: Vec<(&str, [f64; 3])> = STATES
            .iter()
            .map(|state| (*state, linear(variable(css, &format!("st-{state}")))))
            .collect();
        for (vision, matrix) in [
            ("normal vision", IDENTITY),
            ("deuteranopia", DEUTERANOPIA),
            ("protanopia", PROTANOPIA),
            ("tritanopia", TRITANOPIA),
        ] {
            let mut pairs = Vec::new();
            for (i, (a, ca)) in colours.iter().enumerate() {
                for (b, cb) in &colours[i + 1..] {
                    let d = ciede2000(lab(simulate(matrix, *ca)), lab(simulate(matrix, *cb)));
                    pairs.push((d, *a, *b));
                }
            }
            pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
            let closest: Vec<String> = pairs
                .iter()
                .take(3)
                .map(|(d, a, b)| format!("{a}/{b} {d:.1}"))
                .collect();
            eprintln!("{scheme}, {vision}: closest ΔE2000 {}", closest.join(", "));
            if pairs[0].0 < MIN_DELTA_E {
                failures.push(format!(
                    "{scheme}, {vision}: {}/{} differ by ΔE {:.1}",
                    pairs[0].1, pairs[0].2, pairs[0].0
                ));
            }
        }
        // Tags sit on the second surface, text on the panel and the page: every one of them counts.
        for panel in ["bg", "surface", "surface-2"] {
            let under = linear(variable(app, panel));
            for (state, colour) in &colours {
                let ratio = contrast(*colour, under);
                if ratio < MIN_CONTRAST {
                    failures.push(format!(
                        "{scheme}: {state} on --{panel} has contrast {ratio:.2}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The `#rrggbb` value of `--name:` in the first rule of `css` that sets it.
fn variable<'a>(css: &'a str, name: &str) -> &'a str {
    let needle = format!("--{name}:");
    let rest = css
        .split_once(&needle)
        .unwrap_or_else(|| panic!("--{name} is not set"))
        .1;
    rest.split(';').next().unwrap_or_default().trim()
}

/// `#rrggbb` to linear-light RGB in 0..=1.
fn linear(hex: &str) -> [f64; 3] {
    let hex = hex.trim_start_matches('#');
    assert_eq!(hex.len(), 6, "a #rrggbb colour: {hex}");
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits")) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    [channel(0), channel(2), channel(4)]
}

fn simulate(m: [[f64; 3]; 3], c: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|i| (m[i][0] * c[0] + m[i][1] * c[1] + m[i][2] * c[2]).clamp(0.0, 1.0))
}

fn luminance(c: [f64; 3]) -> f64 {
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Linear sRGB to CIELAB under D65.
fn lab(c: [f64; 3]) -> [f64; 3] {
    let x = (0.4124 * c[0] + 0.3576 * c[1] + 0.1805 * c[2]) / 0.95047;
    let y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    let z = (0.0193 * c[0] + 0.1192 * c[1] + 0.9505 * c[2]) / 1.08883;
    let f = |t: f64| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    [
        116.0 * f(y) - 16.0,
        500.0 * (f(x) - f(y)),
        200.0 * (f(y) - f(z)),
    ]
}

/// CIEDE2000 colour difference (Sharma, Wu and Dalal 2005).
fn ciede2000(p: [f64; 3], q: [f64; 3]) -> f64 {
    let [l1, a1, b1] = p;
    let [l2, a2, b2] = q;
    let c_bar = (a1.hypot(b1) + a2.hypot(b2)) / 2.0;
    let g = 0.5 * (1.0 - (c_bar.powi(7) / (c_bar.powi(7) + 25f64.powi(7))).sqrt());
    let (a1p, a2p) = ((1.0 + g) * a1, (1.0 + g) * a2);
    let (c1p, c2p) = (a1p.hypot(b1), a2p.hypot(b2));
    let hue = |b: f64, a: f64| b.atan2(a).to_degrees().rem_euclid(360.0);
    let (h1p, h2p) = (hue(b1, a1p), hue(b2, a2p));
    let dl = l2 - l1;
    let dc = c2p - c1p;
    let mut dh = h2p - h1p;
    if c1p * c2p == 0.0 {
        dh = 0.0;
    } else if dh > 180.0 {
        dh -= 360.0;
    } else if dh < -180.0 {
        dh += 360.0;
    }
    let dh_big = 2.0 * (c1p * c2p).sqrt() * (dh / 2.0).to_radians().sin();
    let l_bar = (l1 + l2) / 2.0;
    let cp_bar = (c1p + c2p) / 2.0;
    let h_bar = if c1p * c2p == 0.0 {
        h1p + h2p
    } else if (h1p - h2p).abs() <= 180.0 {
        (h1p + h2p) / 2.0
    } else if h1p + h2p < 360.0 {
        (h1p + h2p + 360.0) / 2.0
    } else {
        (h1p + h2p - 360.0) / 2.0
    };
    let cos = |deg: f64| deg.to_radians().cos();
    let t =
        1.0 - 0.17 * cos(h_bar - 30.0) + 0.24 * cos(2.0 * h_bar) + 0.32 * cos(3.0 * h_bar + 6.0)
            - 0.20 * cos(4.0 * h_bar - 63.0);
    let d_theta = 30.0 * (-((h_bar - 275.0) / 25.0).powi(2)).exp();
    let rc = 2.0 * (cp_bar.powi(7) / (cp_bar.powi(7) + 25f64.powi(7))).sqrt();
    let sl = 1.0 + 0.015 * (l_bar - 50.0).powi(2) / (20.0 + (l_bar - 50.0).powi(2)).sqrt();
    let sc = 1.0 + 0.045 * cp_bar;
    let sh = 1.0 + 0.015 * cp_bar * t;
    let rt = -(2.0 * d_theta).to_radians().sin() * rc;
    ((dl / sl).powi(2) + (dc / sc).powi(2) + (dh_big / sh).powi(2) + rt * (dc / sc) * (dh_big / sh))
        .sqrt()
}
