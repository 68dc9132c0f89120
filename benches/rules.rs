//! Benchmark of the watch-rule engine: preparing documents, and matching them against 10,
//! 1,000 and 10,000 rules through `RuleSet` and through a loop over `Rule::matches`.
//!
//! Run with `cargo bench --bench rules` (`RULES_BENCH_COUNTS=1000,10000` for some sizes only). Everything is generated from a fixed seed, so runs
//! differ only by machine noise. No benchmarking framework is used: each figure is the mean
//! over many calls measured with `Instant`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pantau::rules::{DocFields, Document, Rule, RuleOptions, RuleSet};

/// xorshift64*: small, fast and good enough to draw words and rule shapes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / ((1u64 << 53) as f64) < p
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// Function words, most frequent first; they open the vocabulary so that Zipf sampling makes
/// them common.
const FUNCTION_WORDS: &str = "yang dan di ke dari ini itu dengan untuk pada dalam tidak akan juga \
ada atau oleh sebagai karena telah sudah bisa saat kata para lebih secara tersebut mereka kami \
kita dia ia the of and to in a is that for on it with as was at by be are from this has have \
said an not but his he they will its after new were who been also their more tahun hari orang \
masih belum hanya antara namun bahwa hingga sejak menurut seperti setelah sebelum kepada baru \
banyak besar kecil sama lain semua setiap harus dapat ingin perlu mulai terus kembali";

/// Content words of Indonesian and English news: politics, economy, disasters, security,
/// places and institutions.
const ROOTS: &str = "presiden menteri pemerintah negara rakyat partai pemilu suara calon \
gubernur bupati walikota dewan parlemen undang hukum pengadilan hakim jaksa polisi tentara \
militer senjata rudal roket nuklir perang damai konflik serangan korban tewas luka gempa banjir \
longsor kebakaran tsunami gunung letusan hujan cuaca iklim suhu panas kering bencana evakuasi \
pengungsi bantuan relawan rumah sakit dokter pasien vaksin virus wabah pandemi kesehatan obat \
harga beras minyak gas listrik bensin pajak anggaran utang bank bunga inflasi rupiah dolar saham \
bursa pasar ekspor impor investasi industri pabrik buruh upah kerja pengangguran ekonomi bisnis \
perusahaan korupsi suap penyidik tersangka terdakwa vonis penjara sidang saksi bukti kasus \
penangkapan demo unjuk rasa mahasiswa sekolah guru siswa kampus pendidikan ujian teknologi \
internet data siber peretas aplikasi digital ponsel satelit pesawat bandara kapal pelabuhan \
kereta jalan tol macet kecelakaan penumpang sopir truk motor mobil listrik baterai tambang nikel \
batubara sawit hutan lahan petani nelayan pangan pupuk subsidi bansos warga desa kota provinsi \
pulau laut pantai sungai danau jakarta surabaya bandung medan makassar semarang yogyakarta bali \
papua aceh kalimantan sulawesi sumatra jawa maluku nusantara indonesia malaysia singapura \
filipina thailand vietnam china jepang korea utara selatan india rusia ukraina amerika serikat \
inggris prancis jerman australia eropa asia afrika timur tengah israel palestina iran arab \
turki mesir pbb asean nato kpk dpr mpr bpk tni polri kpu bawaslu bmkg bnpb kemenkes kemenkeu \
pertamina pln garuda telkom jokowi prabowo gibran anies ganjar megawati puan sri mulyani \
erick thohir luhut retno marsudi putin zelensky biden trump xi jinping kim jong un modi \
election government minister president parliament court judge police army military weapon \
missile rocket nuclear war peace conflict attack victim killed injured earthquake flood \
landslide fire tsunami volcano eruption rain weather climate heat drought disaster evacuation \
refugee aid hospital doctor patient vaccine virus outbreak pandemic health drug price rice oil \
fuel electricity tax budget debt interest inflation currency stock market export import \
investment industry factory worker wage job unemployment economy business company corruption \
bribery suspect defendant verdict prison trial witness evidence arrest protest student school \
teacher university education technology internet cyber hacker app digital phone satellite \
plane airport ship port train road traffic crash passenger driver truck car battery mine \
nickel coal palm forest land farmer fisherman food fertilizer subsidy citizen village city \
province island sea coast river lake capital border embassy diplomat summit treaty sanction \
tariff trade deal talks ceasefire hostage drone strike troops navy coast guard fleet \
spokesman official agency ministry regulation policy reform scandal investigation probe \
report survey poll vote ballot campaign candidate coalition opposition rally crowd \
festival sport football match league team coach player goal champion medal olympic \
film music artist concert celebrity wedding divorce death funeral birth population growth \
recession crisis bailout merger acquisition startup funding valuation ipo profit loss revenue";

/// Indonesian affixes, to derive the inflected forms that fill out the vocabulary.
const PREFIXES: [&str; 6] = ["me", "di", "ber", "pe", "ter", "ke"];
const SUFFIXES: [&str; 4] = ["kan", "an", "nya", "i"];

/// About 2,000 distinct words: function words first, then roots, then derived forms.
fn vocabulary() -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let push = |w: String, words: &mut Vec<String>| {
        if !words.contains(&w) {
            words.push(w);
        }
    };
    for w in FUNCTION_WORDS.split_whitespace() {
        push(w.to_owned(), &mut words);
    }
    let roots: Vec<&str> = ROOTS.split_whitespace().collect();
    for w in &roots {
        push((*w).to_owned(), &mut words);
    }
    let mut rng = Rng::new(7);
    while words.len() < 2000 {
        let root = roots[rng.below(roots.len())];
        let w = match rng.below(3) {
            0 => format!("{}{root}", PREFIXES[rng.below(PREFIXES.len())]),
            1 => format!("{root}{}", SUFFIXES[rng.below(SUFFIXES.len())]),
            _ => format!("{}{root}{}", PREFIXES[rng.below(PREFIXES.len())], SUFFIXES[rng.below(SUFFIXES.len())]),
        };
        push(w, &mut words);
    }
    words
}

/// Draws word ranks with probability proportional to 1/(rank+1).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative.partition_point(|&c| c < x).min(self.cumulative.len() - 1)
    }
}

struct Item {
    title: String,
    summary: String,
    content: String,
    authors: Vec<String>,
    categories: Vec<String>,
    link: String,
    feed: String,
}

impl Item {
    fn fields(&self) -> DocFields<'_> {
        DocFields {
            title: &self.title,
            summary: &self.summary,
            content: &self.content,
            authors: &self.authors,
            categories: &self.categories,
            link: &self.link,
            feed: &self.feed,
            article: "",
        }
    }
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// How an item draws its words: half Zipf over the function words, a third from the item's
/// own topic words, and the rest Zipf over the topical part of the vocabulary, so that a watched word occurs in a few items out of a
/// hundred, as it does in a real feed.
struct Style<'a> {
    vocab: &'a [String],
    zipf: &'a Zipf,
    topic: Vec<usize>,
}

impl Style<'_> {
    fn word(&self, rng: &mut Rng) -> &str {
        let r = rng.below(100);
        let i = if r < 55 {
            self.zipf.sample(rng) % 120
        } else if r < 92 {
            // Topic words are not equally frequent either.
            self.topic[self.zipf.sample(rng) % self.topic.len()]
        } else {
            120 + self.zipf.sample(rng) % (self.vocab.len() - 120)
        };
        &self.vocab[i]
    }
}

/// Sentences of generated words, with capitals, commas and the odd number.
fn sentences(rng: &mut Rng, style: &Style<'_>, min_bytes: usize) -> String {
    let mut out = String::new();
    while out.len() < min_bytes {
        let n = rng.range(8, 22);
        for i in 0..n {
            let w = style.word(rng);
            if i == 0 {
                out.push_str(&capitalise(w));
            } else {
                out.push(' ');
                if rng.chance(0.02) {
                    out.push_str(&format!("{} ", rng.range(2, 2025)));
                }
                if rng.chance(0.08) {
                    out.push_str(&capitalise(w));
                } else {
                    out.push_str(w);
                }
                if rng.chance(0.05) {
                    out.push(',');
                }
            }
        }
        out.push_str(". ");
        if rng.chance(0.2) {
            out.push('\n');
        }
    }
    out
}

fn items(count: usize, vocab: &[String], seed: u64) -> Vec<Item> {
    let zipf = Zipf::new(vocab.len());
    let mut rng = Rng::new(seed);
    let feeds = ["CNN Indonesia", "Kompas", "Detik", "Tempo", "Reuters", "Antara"];
    (0..count)
        .map(|i| {
            let topic = (0..25).map(|_| rng.range(120, vocab.len() - 1)).collect();
            let style = Style { vocab, zipf: &zipf, topic };
            let title = sentences(&mut rng, &style, 40);
            let summary = sentences(&mut rng, &style, 200);
            let target = rng.range(2_000, 8_000);
            let content = sentences(&mut rng, &style, target);
            let slug: Vec<&str> = title.split_whitespace().take(6).collect();
            Item {
                link: format!(
                    "https://www.{}.com/berita/2024{:04}-{}",
                    feeds[i % feeds.len()].to_lowercase().replace(' ', ""),
                    i,
                    slug.join("-").to_lowercase().replace([',', '.'], "")
                ),
                title: title.trim().trim_end_matches('.').to_owned(),
                summary,
                content,
                authors: vec![format!("Tim {}", feeds[i % feeds.len()])],
                categories: vec![capitalise(&vocab[rng.range(100, 400)]), capitalise(&vocab[rng.range(100, 400)])],
                feed: feeds[i % feeds.len()].to_owned(),
            }
        })
        .collect()
}

/// A topical word: rule authors watch names and subjects, not function words.
fn topic<'a>(rng: &mut Rng, vocab: &'a [String]) -> &'a str {
    &vocab[rng.range(120, vocab.len() - 1)]
}

fn rule_text(rng: &mut Rng, vocab: &[String]) -> String {
    let t = |rng: &mut Rng| topic(rng, vocab).to_owned();
    let field = |rng: &mut Rng| ["title:", "summary:", "content:"][rng.below(3)];
    match rng.below(100) {
        0..=19 => t(rng),
        20..=34 => {
            let n = rng.range(2, 3);
            let words: Vec<String> = (0..n).map(|_| t(rng)).collect();
            words.join(" OR ")
        }
        35..=49 => format!("\"{} {}\" AND {}", t(rng), t(rng), t(rng)),
        50..=61 => format!("{} AND {} -{}", t(rng), t(rng), t(rng)),
        62..=69 => format!("({} OR {}) AND ({} OR {})", t(rng), t(rng), t(rng), t(rng)),
        70..=76 => format!("{} NEAR/{} {}", t(rng), rng.range(1, 8), t(rng)),
        77..=82 => {
            let mut w = t(rng);
            while w.chars().count() < 6 {
                w = t(rng);
            }
            let cut = w.char_indices().nth(rng.range(4, 6)).map_or(w.len(), |(i, _)| i);
            format!("{}* AND {}", &w[..cut], t(rng))
        }
        83..=89 => format!("{}{} AND {}", field(rng), t(rng), t(rng)),
        90..=92 => format!("{}(\"{} {}\" OR {})", field(rng), t(rng), t(rng), t(rng)),
        93..=94 => format!("={} {}", capitalise(&t(rng)), t(rng)),
        95..=96 => format!("~{} AND {}", t(rng), t(rng)),
        97..=98 => format!("/Rp ?[0-9]+/i AND {}", t(rng)),
        _ => format!("{} ONEAR/3 {} -{}", t(rng), t(rng), t(rng)),
    }
}

fn rules(count: usize, vocab: &[String], seed: u64) -> Vec<(String, Rule)> {
    let mut rng = Rng::new(seed);
    let opts = RuleOptions { lang: Some("id".to_owned()) };
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let q = rule_text(&mut rng, vocab);
        match Rule::parse(&q, &opts) {
            Ok(rule) => out.push((q, rule)),
            Err(e) => panic!("generated rule {q:?} does not parse: {e}"),
        }
    }
    out
}

/// Time this thread has spent on a CPU, from Linux's `/proc/thread-self/schedstat`; zero
/// where that is not available. On a shared machine it shows what waiting for a CPU hides.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let vocab = vocabulary();
    let items = items(200, &vocab, 42);
    let mean_bytes =
        items.iter().map(|i| i.title.len() + i.summary.len() + i.content.len()).sum::<usize>() / items.len();
    println!("vocabulary {} words, {} items of {} bytes on average\n", vocab.len(), items.len(), mean_bytes);

    // Document::new, over every item a few times.
    let rounds = 5;
    let start = Instant::now();
    let cpu_start = cpu_time();
    for _ in 0..rounds {
        for item in &items {
            black_box(Document::new(black_box(&item.fields())));
        }
    }
    let doc_us = per(start.elapsed(), rounds * items.len());
    let doc_cpu_us = per(cpu_time().saturating_sub(cpu_start), rounds * items.len());

    println!("| rules | always evaluated | RuleSet::new (ms) | Document::new (µs/item) | RuleSet::matches (µs/item) | on CPU (µs/item) | evaluations/s | matches/item | naive loop (µs/item) | speed-up |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // `RULES_BENCH_COUNTS=10000` (a comma-separated list) runs only some sizes, for profiling.
    let counts: Vec<usize> = match std::env::var("RULES_BENCH_COUNTS") {
        Ok(list) => list.split(',').filter_map(|c| c.trim().parse().ok()).collect(),
        Err(_) => vec![10, 1_000, 10_000],
    };
    for &count in &counts {
        let start = Instant::now();
        let set = RuleSet::new(rules(count, &vocab, 1000 + count as u64));
        let build_ms = start.elapsed().as_secs_f64() * 1e3;

        // Every matches call is the first one on its document, so anything a document
        // computes lazily is paid here; documents are prepared outside the timed region.
        let mut set_time = Duration::ZERO;
        let mut set_cpu = Duration::ZERO;
        let mut calls = 0;
        let mut hits = 0;
        let target = Duration::from_millis(1500);
        // `RULES_BENCH_PASSES=n` makes exactly n passes over the items, for counting cycles.
        let passes: Option<usize> = std::env::var("RULES_BENCH_PASSES").ok().and_then(|p| p.parse().ok());
        while passes.map_or(set_time < target || calls < items.len(), |p| calls < p * items.len()) {
            let docs: Vec<Document> = items.iter().map(|i| Document::new(&i.fields())).collect();
            let start = Instant::now();
            let cpu_start = cpu_time();
            for d in &docs {
                hits += black_box(set.matches(black_box(d))).len();
            }
            set_time += start.elapsed();
            set_cpu += cpu_time().saturating_sub(cpu_start);
            calls += docs.len();
        }
        let set_us = per(set_time, calls);
        let set_cpu_us = per(set_cpu, calls);

        let docs: Vec<Document> = items.iter().map(|i| Document::new(&i.fields())).collect();
        let naive_items = if count >= 10_000 { 40 } else { items.len() };
        let start = Instant::now();
        let mut naive_hits = 0;
        for d in &docs[..naive_items] {
            for (_, rule) in set.rules() {
                if black_box(rule.matches(black_box(d))).is_some() {
                    naive_hits += 1;
                }
            }
        }
        let naive_us = per(start.elapsed(), naive_items);
        let set_hits: usize = docs[..naive_items].iter().map(|d| set.matches(d).len()).sum();
        assert_eq!(set_hits, naive_hits, "RuleSet and Rule::matches disagree");

        println!(
            "| {count} | {} | {build_ms:.1} | {doc_us:.1} ({doc_cpu_us:.1} on CPU) | {set_us:.2} | {set_cpu_us:.2} | {:.0} | {:.1} | {naive_us:.1} | {:.1}× |",
            set.always_evaluated(),
            1e6 / set_us,
            hits as f64 / calls as f64,
            naive_us / set_us,
        );
    }
}
