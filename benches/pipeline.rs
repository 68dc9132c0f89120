//! Whole-pipeline benchmark of pantau.
//!
//! Generates N synthetic feeds (RSS 2.0, Atom, JSON Feed; Indonesian and English; 20–50 items of
//! 2–8 KB each) with a seeded generator, serves them from a small HTTP server on 127.0.0.1 (ETag /
//! If-None-Match → 304) next to a webhook receiver, writes a config with M watch rules, and drives
//! the real `pantau` binary through three `once` cycles (all new, all 304, 5 % changed) and an
//! idle `run`. It also measures ingest in-process (parse + match + store, no HTTP) next to
//! feed-rs parse-only on the same documents. With `--articles`, a share of the feeds read their
//! items' pages (`fetch_article`), which the same server serves as news-site HTML; the bench
//! reports the CPU the article stage adds per item, the pages read and failed, and how much
//! later alerts of those items reach the webhook receiver than alerts of feed-only items.
//!
//! Run through `scripts/bench.sh`, or directly:
//! `cargo bench --bench pipeline -- --pantau target/release/pantau --feeds 500 --rules 100 --skip-idle`
//! (`--help` lists every flag). Nothing leaves 127.0.0.1.

// getrusage and friends for the CPU and memory figures.
#![allow(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

const USAGE: &str = "\
pantau whole-pipeline benchmark

  --pantau PATH        the pantau binary (default: $PANTAU_BIN, else $CARGO_TARGET_DIR/release/pantau,
                       else target/release/pantau)
  --feeds N            feeds served and configured (default 10000)
  --rules M            watch rules (default 1000)
  --seed S             generator seed (default 42)
  --concurrency C      [daemon] concurrency and per_host (default 64)
  --changed-pct P      share of feeds changed before the third cycle (default 5)
  --ingest-feeds K     documents used by the in-process ingest measurement (default 1000, at most N)
  --write-feeds DIR    also write those K documents to DIR (for the feedparser comparison)
  --workdir DIR        where configs, databases and logs go (default: a fresh dir under the temp dir)
  --results FILE       also write every figure as key=value lines to FILE
  --idle-feeds F       feeds of the idle daemon (default 100)
  --idle-wait D        how long the idle daemon runs before its RSS is read (default 5m; e.g. 30s)
  --skip-idle          skip the idle measurement
  --skip-cycles        skip the three `once` cycles
  --skip-ingest        skip the in-process ingest measurement
  --log-filter F       RUST_LOG of the pantau child (default: info, what users run)
  --articles           also measure the article stage: P % of the feeds get `fetch_article = true` and
                       their items link to article pages (20–60 KB of HTML) on the bench server; rules
                       are added that match words found only in those pages. Runs `once` without and
                       with fetch_article (CPU per article item) and a `run` daemon (alert latency).
                       Pages are generated up front: about 1.6 MB of memory per article feed
  --article-pct P      share of feeds with fetch_article under --articles (default 10)
";

#[derive(Debug, Clone)]
struct Args {
    pantau: PathBuf,
    feeds: usize,
    rules: usize,
    seed: u64,
    concurrency: usize,
    changed_pct: f64,
    ingest_feeds: usize,
    write_feeds: Option<PathBuf>,
    workdir: Option<PathBuf>,
    results: Option<PathBuf>,
    idle_feeds: usize,
    idle_wait: Duration,
    skip_idle: bool,
    skip_cycles: bool,
    skip_ingest: bool,
    log_filter: String,
    articles: bool,
    article_pct: f64,
}

fn parse_args() -> Args {
    let default_bin = std::env::var_os("PANTAU_BIN").map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
        target.join("release").join("pantau")
    });
    let mut a = Args {
        pantau: default_bin,
        feeds: 10_000,
        rules: 1_000,
        seed: 42,
        concurrency: 64,
        changed_pct: 5.0,
        ingest_feeds: 1_000,
        write_feeds: None,
        workdir: None,
        results: None,
        idle_feeds: 100,
        idle_wait: Duration::from_secs(300),
        skip_idle: false,
        skip_cycles: false,
        skip_ingest: false,
        log_filter: "info".into(),
        articles: false,
        article_pct: 10.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().unwrap_or_else(|| die(&format!("{name} needs a value")));
        match flag.as_str() {
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--pantau" => a.pantau = PathBuf::from(value("--pantau")),
            "--feeds" => a.feeds = num(&value("--feeds")),
            "--rules" => a.rules = num(&value("--rules")),
            "--seed" => a.seed = num(&value("--seed")) as u64,
            "--concurrency" => a.concurrency = num(&value("--concurrency")).max(1),
            "--changed-pct" => {
                a.changed_pct = value("--changed-pct").parse().unwrap_or_else(|_| die("--changed-pct: a number"))
            }
            "--ingest-feeds" => a.ingest_feeds = num(&value("--ingest-feeds")),
            "--write-feeds" => a.write_feeds = Some(PathBuf::from(value("--write-feeds"))),
            "--workdir" => a.workdir = Some(PathBuf::from(value("--workdir"))),
            "--results" => a.results = Some(PathBuf::from(value("--results"))),
            "--idle-feeds" => a.idle_feeds = num(&value("--idle-feeds")),
            "--idle-wait" => {
                let v = value("--idle-wait");
                a.idle_wait = humantime::parse_duration(&v).unwrap_or_else(|e| die(&format!("--idle-wait {v}: {e}")))
            }
            "--skip-idle" => a.skip_idle = true,
            "--skip-cycles" => a.skip_cycles = true,
            "--skip-ingest" => a.skip_ingest = true,
            "--log-filter" => a.log_filter = value("--log-filter"),
            "--articles" => a.articles = true,
            "--article-pct" => {
                a.article_pct = value("--article-pct").parse().unwrap_or_else(|_| die("--article-pct: a number"))
            }
            other => die(&format!("unknown flag {other}\n\n{USAGE}")),
        }
    }
    a.ingest_feeds = a.ingest_feeds.min(a.feeds);
    a.idle_feeds = a.idle_feeds.min(a.feeds);
    a
}

fn num(s: &str) -> usize {
    s.replace('_', "").parse().unwrap_or_else(|_| die(&format!("{s:?} is not a whole number")))
}

fn die(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    std::process::exit(2)
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and good enough for text generation.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        r.next();
        r
    }
    fn derive(seed: u64, a: u64, b: u64) -> Rng {
        Rng::new(
            seed.wrapping_mul(0x100_0000_01B3)
                ^ a.wrapping_mul(0xD6E8_FEB8_6659_FD93)
                ^ b.wrapping_mul(0xA076_1D64_78BD_642F),
        )
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

const ID_FUNCTION: &[&str] = &[
    "yang", "dan", "di", "ke", "dari", "ini", "itu", "dengan", "untuk", "pada", "adalah", "dalam", "tidak", "akan",
    "juga", "atau", "ada", "oleh", "sudah", "saat", "bisa", "karena", "lebih", "kata", "masih", "telah", "mereka",
    "kami", "kita", "namun", "hingga", "setelah", "sebagai", "sejak", "bahwa", "agar", "secara", "para", "tersebut",
    "belum", "hanya", "sangat", "tahun", "hari", "ia", "dia", "saya", "banyak", "baru", "sama", "lagi", "semua",
];

const EN_FUNCTION: &[&str] = &[
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "on", "it", "with", "as", "was", "by", "at", "from",
    "be", "this", "have", "are", "an", "has", "but", "not", "they", "after", "said", "were", "their", "which", "will",
    "been", "more", "would", "about", "also", "who", "than", "into", "its", "over", "new", "year", "last", "when",
];

const ID_CONTENT: &[&str] = &[
    "pemerintah",
    "presiden",
    "menteri",
    "harga",
    "ekonomi",
    "rakyat",
    "kota",
    "banjir",
    "gempa",
    "polisi",
    "korupsi",
    "senjata",
    "rudal",
    "pemilu",
    "partai",
    "warga",
    "sekolah",
    "rumah",
    "sakit",
    "jalan",
    "pasar",
    "beras",
    "minyak",
    "listrik",
    "bensin",
    "pajak",
    "anggaran",
    "daerah",
    "provinsi",
    "kabupaten",
    "desa",
    "petani",
    "nelayan",
    "buruh",
    "mahasiswa",
    "guru",
    "dokter",
    "pasien",
    "vaksin",
    "hujan",
    "kebakaran",
    "hutan",
    "tambang",
    "nikel",
    "batu",
    "bara",
    "kapal",
    "pesawat",
    "bandara",
    "pelabuhan",
    "kereta",
    "tol",
    "macet",
    "kecelakaan",
    "pengadilan",
    "hakim",
    "jaksa",
    "tersangka",
    "saksi",
    "kasus",
    "sidang",
    "vonis",
    "penjara",
    "tentara",
    "militer",
    "perang",
    "damai",
    "perbatasan",
    "diplomasi",
    "kedutaan",
    "investasi",
    "saham",
    "rupiah",
    "dolar",
    "inflasi",
    "bunga",
    "kredit",
    "bank",
    "utang",
    "ekspor",
    "impor",
    "pabrik",
    "industri",
    "teknologi",
    "internet",
    "aplikasi",
    "data",
    "kebocoran",
    "peretas",
    "siber",
    "sepak",
    "bola",
    "pertandingan",
    "juara",
    "pelatih",
    "pemain",
    "stadion",
    "olahraga",
    "musik",
    "film",
    "artis",
    "budaya",
    "wisata",
    "pantai",
    "gunung",
    "letusan",
    "tsunami",
    "cuaca",
    "iklim",
    "sampah",
    "plastik",
    "air",
    "bersih",
    "pangan",
    "subsidi",
    "bantuan",
    "sosial",
    "kemiskinan",
    "pengangguran",
    "gaji",
    "upah",
    "mogok",
    "demonstrasi",
    "unjuk",
    "rasa",
    "aparat",
    "keamanan",
    "teroris",
    "ledakan",
    "bom",
    "penangkapan",
    "narkoba",
    "penyelundupan",
    "imigrasi",
    "haji",
    "masjid",
    "gereja",
    "toleransi",
    "pendidikan",
    "kurikulum",
    "ujian",
    "beasiswa",
    "kesehatan",
    "rumah sakit",
    "stunting",
    "gizi",
    "anak",
    "perempuan",
    "keluarga",
];

const EN_CONTENT: &[&str] = &[
    "government",
    "president",
    "minister",
    "price",
    "economy",
    "people",
    "city",
    "flood",
    "earthquake",
    "police",
    "corruption",
    "weapons",
    "missile",
    "election",
    "party",
    "residents",
    "school",
    "hospital",
    "road",
    "market",
    "rice",
    "oil",
    "electricity",
    "fuel",
    "tax",
    "budget",
    "region",
    "province",
    "village",
    "farmers",
    "fishermen",
    "workers",
    "students",
    "teachers",
    "doctors",
    "patients",
    "vaccine",
    "rain",
    "fire",
    "forest",
    "mining",
    "nickel",
    "coal",
    "ship",
    "aircraft",
    "airport",
    "port",
    "train",
    "highway",
    "traffic",
    "accident",
    "court",
    "judge",
    "prosecutor",
    "suspect",
    "witness",
    "case",
    "trial",
    "verdict",
    "prison",
    "troops",
    "military",
    "war",
    "peace",
    "border",
    "diplomacy",
    "embassy",
    "investment",
    "shares",
    "currency",
    "dollar",
    "inflation",
    "interest",
    "credit",
    "bank",
    "debt",
    "exports",
    "imports",
    "factory",
    "industry",
    "technology",
    "internet",
    "app",
    "data",
    "breach",
    "hackers",
    "cyber",
    "football",
    "match",
    "champion",
    "coach",
    "player",
    "stadium",
    "sport",
    "music",
    "film",
    "actor",
    "culture",
    "tourism",
    "beach",
    "mountain",
    "eruption",
    "tsunami",
    "weather",
    "climate",
    "waste",
    "plastic",
    "water",
    "food",
    "subsidy",
    "aid",
    "welfare",
    "poverty",
    "unemployment",
    "wages",
    "salary",
    "strike",
    "protest",
    "rally",
    "security",
    "terrorist",
    "explosion",
    "bomb",
    "arrest",
    "drugs",
    "smuggling",
    "immigration",
    "pilgrims",
    "mosque",
    "church",
    "tolerance",
    "education",
    "curriculum",
    "exam",
    "scholarship",
    "health",
    "stunting",
    "nutrition",
    "children",
    "women",
    "family",
    "ceasefire",
    "sanctions",
    "tariffs",
    "semiconductor",
];

const ENTITIES: &[&str] = &[
    "Korea Utara",
    "Korea Selatan",
    "Bank Indonesia",
    "Joko Widodo",
    "Prabowo Subianto",
    "Jakarta Selatan",
    "Komisi Pemberantasan Korupsi",
    "Mahkamah Konstitusi",
    "Dewan Perwakilan Rakyat",
    "Sri Mulyani",
    "Jawa Barat",
    "Jawa Timur",
    "Sumatera Utara",
    "Kalimantan Timur",
    "Papua Barat",
    "Laut China Selatan",
    "Ibu Kota Nusantara",
    "Badan Meteorologi",
    "Kementerian Keuangan",
    "Tentara Nasional Indonesia",
    "Persatuan Bangsa-Bangsa",
    "Gunung Merapi",
    "Selat Malaka",
    "Bursa Efek Indonesia",
    "Garuda Indonesia",
    "Pertamina",
    "Rusia",
    "Ukraina",
    "Amerika Serikat",
    "Tiongkok",
    "Jepang",
    "Australia",
    "Malaysia",
    "Singapura",
    "Filipina",
    "Vietnam",
    "North Korea",
    "South Korea",
    "Federal Reserve",
    "United Nations",
    "European Union",
    "White House",
    "Wall Street",
    "World Bank",
    "International Monetary Fund",
    "South China Sea",
    "Supreme Court",
    "New York",
    "Hong Kong",
    "Gaza Strip",
    "West Bank",
    "Red Sea",
    "Donald Trump",
    "Xi Jinping",
    "Vladimir Putin",
    "Anwar Ibrahim",
    "Southeast Asia",
    "Middle East",
    "Silicon Valley",
    "Bank of Japan",
    "climate change",
    "interest rate",
    "artificial intelligence",
    "electric vehicle",
    "supply chain",
    "human rights",
    "state budget",
    "Piala Dunia",
    "Liga Inggris",
    "Timnas Indonesia",
    "PSSI",
    "Asian Games",
    "Olimpiade Paris",
    "Rupiah",
    "Pilkada Serentak",
    "Badan Pusat Statistik",
    "Otoritas Jasa Keuangan",
    "Polda Metro Jaya",
    "Istana Negara",
];

const AUTHORS: &[&str] = &[
    "Syahreza Zanskie",
    "Rina Wulandari",
    "Budi Santoso",
    "Dewi Lestari",
    "Agus Prasetyo",
    "Siti Nurhaliza",
    "Yohanes Paulus",
    "Made Wirawan",
    "Putu Ayu",
    "Andi Mallarangeng",
    "Sarah Johnson",
    "Michael Chen",
    "Emily Brown",
    "David Okafor",
    "Priya Raman",
    "Tomás García",
    "Hiroshi Tanaka",
    "Anna Kowalski",
];

const CATEGORIES: &[&str] = &[
    "Nasional",
    "Internasional",
    "Ekonomi",
    "Bisnis",
    "Olahraga",
    "Teknologi",
    "Hukum",
    "Politik",
    "Hiburan",
    "Kesehatan",
    "World",
    "Business",
    "Sport",
    "Tech",
    "Politics",
    "Health",
    "Science",
    "Opinion",
    "Regional",
];

const SYLLABLES: &[&str] = &[
    "ka", "ma", "ra", "ti", "lu", "ngo", "pe", "sa", "da", "ri", "ba", "na", "to", "ki", "se", "wa", "ju", "ha", "go",
    "me", "lo", "ne", "ku", "si", "pa", "tu", "bi", "de", "mo", "nu", "ran", "tan", "lin", "dor", "vel", "kor", "mar",
    "sen", "jat", "bur", "pol", "ter", "gan", "din", "rus",
];

/// Ranks per language: the language's content words, then a long tail of synthetic words shared
/// by both languages, sampled with a Zipf law through a quantile table (O(1) per word).
struct Lexicon {
    id_words: Vec<String>,
    en_words: Vec<String>,
    id_table: Vec<u32>,
    en_table: Vec<u32>,
    tail_start_id: usize,
    tail_start_en: usize,
}

const ZIPF_TABLE_BITS: u32 = 20;
const TAIL_WORDS: usize = 40_000;
const ZIPF_S: f64 = 1.07;

impl Lexicon {
    fn new(seed: u64) -> Lexicon {
        let mut rng = Rng::derive(seed, 0x7a11, 0);
        let mut seen: HashSet<String> =
            ID_CONTENT.iter().chain(EN_CONTENT).chain(ID_FUNCTION).chain(EN_FUNCTION).map(|s| s.to_string()).collect();
        let mut tail = Vec::with_capacity(TAIL_WORDS);
        while tail.len() < TAIL_WORDS {
            let n = rng.range(2, 4);
            let w: String = (0..n).map(|_| *rng.pick(SYLLABLES)).collect();
            if w.len() >= 5 && seen.insert(w.clone()) {
                tail.push(w);
            }
        }
        let mut id_words: Vec<String> = ID_CONTENT.iter().map(|s| s.to_string()).collect();
        let tail_start_id = id_words.len();
        id_words.extend(tail.iter().cloned());
        let mut en_words: Vec<String> = EN_CONTENT.iter().map(|s| s.to_string()).collect();
        let tail_start_en = en_words.len();
        en_words.extend(tail);
        let id_table = zipf_table(id_words.len());
        let en_table = zipf_table(en_words.len());
        Lexicon { id_words, en_words, id_table, en_table, tail_start_id, tail_start_en }
    }

    fn words(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Id => &self.id_words,
            Lang::En => &self.en_words,
        }
    }

    fn tail_start(&self, lang: Lang) -> usize {
        match lang {
            Lang::Id => self.tail_start_id,
            Lang::En => self.tail_start_en,
        }
    }

    fn content(&self, lang: Lang, rng: &mut Rng) -> &str {
        let (table, words) = match lang {
            Lang::Id => (&self.id_table, &self.id_words),
            Lang::En => (&self.en_table, &self.en_words),
        };
        let q = (rng.next() >> (64 - ZIPF_TABLE_BITS)) as usize;
        &words[table[q] as usize]
    }
}

fn zipf_table(n: usize) -> Vec<u32> {
    let weights: Vec<f64> = (0..n).map(|r| 1.0 / ((r + 2) as f64).powf(ZIPF_S)).collect();
    let total: f64 = weights.iter().sum();
    let size = 1usize << ZIPF_TABLE_BITS;
    let mut table = Vec::with_capacity(size);
    let (mut rank, mut cdf) = (0usize, weights[0] / total);
    for k in 0..size {
        let q = (k as f64 + 0.5) / size as f64;
        while cdf < q && rank + 1 < n {
            rank += 1;
            cdf += weights[rank] / total;
        }
        table.push(rank as u32);
    }
    table
}

// ---------------------------------------------------------------------------------------------
// Feed generation
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Id,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Rss => "xml",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }
    fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

#[derive(Debug, Clone)]
struct FeedMeta {
    idx: usize,
    name: String,
    lang: Lang,
    format: Format,
    host: String,
    /// Items in one version of the document.
    count: usize,
    /// Items that a new version adds at the top (and drops at the bottom).
    step: usize,
    tags: Vec<&'static str>,
    /// Under `--articles`, for feeds with `fetch_article`: the bench server's origin, which the
    /// items' links point to (`{origin}/article/{feed}/{item}/…`).
    article_origin: Option<String>,
}

fn feed_meta(seed: u64, idx: usize) -> FeedMeta {
    let mut rng = Rng::derive(seed, 0xfeed, idx as u64);
    let lang = if rng.chance(0.55) { Lang::Id } else { Lang::En };
    let f = rng.next() % 100;
    let format = if f < 60 {
        Format::Rss
    } else if f < 85 {
        Format::Atom
    } else {
        Format::Json
    };
    let host = match lang {
        Lang::Id => format!("berita{}.example.id", idx % 211),
        Lang::En => format!("news{}.example.com", idx % 197),
    };
    let section = *rng.pick(&["news", "business", "sport", "tech", "world"]);
    let tags = vec![if lang == Lang::Id { "id" } else { "en" }, section];
    FeedMeta {
        idx,
        name: format!("f{idx:05}"),
        lang,
        format,
        host,
        count: rng.range(20, 50),
        step: rng.range(3, 6),
        tags,
        article_origin: None,
    }
}

struct GenItem {
    guid: String,
    link: String,
    title: String,
    summary: String,
    body: String,
    published: i64,
    author: &'static str,
    categories: Vec<&'static str>,
}

/// 2025-06-01T00:00:00Z: a fixed clock keeps the documents identical from run to run.
const BASE_TIME: i64 = 1_748_736_000;

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn word(lex: &Lexicon, lang: Lang, rng: &mut Rng, out: &mut String) {
    if rng.chance(0.42) {
        out.push_str(rng.pick::<&str>(if lang == Lang::Id { ID_FUNCTION } else { EN_FUNCTION }));
        return;
    }
    let w = lex.content(lang, rng);
    if lang == Lang::Id {
        // Indonesian morphology: clitics, affixes and informal reduplication.
        let r = rng.next() % 100;
        match r {
            0..=4 => {
                out.push_str(w);
                out.push_str("nya");
            }
            5 => {
                out.push_str(w);
                out.push_str("lah");
            }
            6 => {
                out.push_str(w);
                out.push('2');
            }
            7 => {
                out.push_str("per");
                out.push_str(w);
                out.push_str("an");
            }
            8..=9 => {
                out.push_str(if r == 8 { "ber" } else { "di" });
                out.push_str(w);
            }
            _ => out.push_str(w),
        }
    } else {
        out.push_str(w);
    }
}

fn sentence(lex: &Lexicon, lang: Lang, rng: &mut Rng, html: bool, out: &mut String) {
    let n = rng.range(8, 20);
    let start = out.len();
    let entity_at = if rng.chance(0.10) { rng.range(0, n - 1) } else { usize::MAX };
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        if i == entity_at {
            out.push_str(rng.pick::<&str>(ENTITIES));
            continue;
        }
        let markup = if html { rng.next() % 100 } else { 99 };
        match markup {
            0 => {
                let mut w = String::new();
                word(lex, lang, rng, &mut w);
                out.push_str("<a href=\"https://example.org/tag/");
                out.push_str(&w);
                out.push_str("\">");
                out.push_str(&w);
                out.push_str("</a>");
            }
            1 => {
                out.push_str("<strong>");
                word(lex, lang, rng, out);
                out.push_str("</strong>");
            }
            2 => {
                out.push_str("<em>");
                word(lex, lang, rng, out);
                out.push_str("</em>");
            }
            _ => word(lex, lang, rng, out),
        }
        if i + 1 < n && rng.chance(0.06) {
            out.push(',');
        }
    }
    // Capitalise the first letter of the sentence when it is plain text.
    if let Some(first) = out[start..].chars().next().filter(|c| c.is_ascii_lowercase()) {
        out.replace_range(start..start + 1, &first.to_ascii_uppercase().to_string());
    }
    out.push_str(if rng.chance(0.08) { "?" } else { "." });
}

fn gen_item(lex: &Lexicon, seed: u64, feed: &FeedMeta, j: usize) -> GenItem {
    let mut rng = Rng::derive(seed, feed.idx as u64 + 1, j as u64 + 1);
    let lang = feed.lang;
    let mut title_words = Vec::new();
    let tn = rng.range(6, 12);
    for i in 0..tn {
        if i == 1 && rng.chance(0.3) {
            title_words.push(rng.pick(ENTITIES).to_string());
            continue;
        }
        let mut w = String::new();
        word(lex, lang, &mut rng, &mut w);
        title_words.push(if rng.chance(0.5) { capitalize(&w) } else { w });
    }
    let mut title = title_words.join(" ");
    if let Some(f) = title.chars().next() {
        title.replace_range(0..f.len_utf8(), &f.to_uppercase().to_string());
    }
    if rng.chance(0.05) {
        title.push_str(" & More");
    }
    let target = rng.range(2048, 8192);
    let mut body = String::with_capacity(target + 600);
    let mut summary = String::new();
    sentence(lex, lang, &mut rng, false, &mut summary);
    summary.push(' ');
    sentence(lex, lang, &mut rng, false, &mut summary);
    while body.len() < target {
        if rng.chance(0.08) {
            body.push_str("<figure><img src=\"https://cdn.example.org/img/");
            body.push_str(&format!("{}-{}.jpg", feed.idx, j));
            body.push_str("\" alt=\"foto\" width=\"800\" height=\"450\"/><figcaption>");
            sentence(lex, lang, &mut rng, false, &mut body);
            body.push_str("</figcaption></figure>\n");
        }
        body.push_str("<p>");
        for _ in 0..rng.range(2, 5) {
            sentence(lex, lang, &mut rng, true, &mut body);
            body.push(' ');
        }
        if rng.chance(0.1) {
            body.push_str("&quot;Kami&quot; &amp; mereka &#8212; ");
        }
        body.push_str("</p>\n");
    }
    let slug: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    let published = BASE_TIME + (feed.idx as i64 % 600) * 60 + j as i64 * 1800;
    let ymd = chrono::DateTime::from_timestamp(published, 0).unwrap_or_default().format("%Y/%m/%d").to_string();
    let link = match &feed.article_origin {
        Some(origin) => format!("{origin}{}", article_path(feed, j, &title, published)),
        None => format!("https://{}/{}/{}-{}-{}", feed.host, ymd, slug, feed.idx, j),
    };
    let cats = (0..rng.range(1, 3)).map(|_| *rng.pick(CATEGORIES)).collect();
    GenItem {
        guid: format!("urn:pantau-bench:{}:{}", feed.idx, j),
        link,
        title,
        summary,
        body,
        published,
        author: rng.pick::<&str>(AUTHORS),
        categories: cats,
    }
}

fn xml_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

fn rfc2822(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap_or_default().to_rfc2822()
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The document of `feed` at `version` (0 = first): items `version*step .. version*step+count`,
/// newest first. An item is generated from (feed, index) alone, so an item kept from one
/// version to the next is byte-identical.
fn render_feed(lex: &Lexicon, seed: u64, feed: &FeedMeta, version: usize) -> (Vec<u8>, usize) {
    let first = version * feed.step;
    let items: Vec<GenItem> = (first..first + feed.count).rev().map(|j| gen_item(lex, seed, feed, j)).collect();
    let newest = items.first().map(|i| i.published).unwrap_or(BASE_TIME);
    let lang = if feed.lang == Lang::Id { "id" } else { "en" };
    let home = format!("https://{}/", feed.host);
    let title = format!("{} {}", if feed.lang == Lang::Id { "Berita" } else { "News" }, feed.name);
    let mut out = String::with_capacity(items.iter().map(|i| i.body.len() + 1200).sum());
    match feed.format {
        Format::Rss => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
            out.push_str(&format!("<title>{title}</title>\n<link>{home}</link>\n<description>Synthetic feed {}</description>\n<language>{lang}</language>\n<lastBuildDate>{}</lastBuildDate>\n<atom:link href=\"{home}rss\" rel=\"self\" type=\"application/rss+xml\"/>\n", feed.name, rfc2822(newest)));
            for it in &items {
                out.push_str("<item>\n<title>");
                xml_escape(&it.title, &mut out);
                out.push_str("</title>\n<link>");
                xml_escape(&it.link, &mut out);
                out.push_str("</link>\n<guid isPermaLink=\"false\">");
                out.push_str(&it.guid);
                out.push_str("</guid>\n<pubDate>");
                out.push_str(&rfc2822(it.published));
                out.push_str("</pubDate>\n<dc:creator>");
                xml_escape(it.author, &mut out);
                out.push_str("</dc:creator>\n");
                for c in &it.categories {
                    out.push_str("<category>");
                    out.push_str(c);
                    out.push_str("</category>\n");
                }
                out.push_str("<description><![CDATA[<p>");
                out.push_str(&it.summary);
                out.push_str("</p>]]></description>\n<content:encoded><![CDATA[");
                out.push_str(&it.body);
                out.push_str("]]></content:encoded>\n</item>\n");
            }
            out.push_str("</channel>\n</rss>\n");
        }
        Format::Atom => {
            out.push_str(&format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n<title>{title}</title>\n<id>tag:{},2025:feed</id>\n<updated>{}</updated>\n<link rel=\"alternate\" href=\"{home}\"/>\n<link rel=\"self\" href=\"{home}atom\"/>\n", feed.host, rfc3339(newest)));
            for it in &items {
                out.push_str("<entry>\n<title type=\"text\">");
                xml_escape(&it.title, &mut out);
                out.push_str("</title>\n<id>");
                out.push_str(&it.guid);
                out.push_str("</id>\n<link rel=\"alternate\" type=\"text/html\" href=\"");
                xml_escape(&it.link, &mut out);
                out.push_str("\"/>\n<published>");
                out.push_str(&rfc3339(it.published));
                out.push_str("</published>\n<updated>");
                out.push_str(&rfc3339(it.published + 300));
                out.push_str("</updated>\n<author><name>");
                xml_escape(it.author, &mut out);
                out.push_str("</name></author>\n");
                for c in &it.categories {
                    out.push_str("<category term=\"");
                    out.push_str(c);
                    out.push_str("\"/>\n");
                }
                out.push_str("<summary type=\"text\">");
                xml_escape(&it.summary, &mut out);
                out.push_str("</summary>\n<content type=\"html\">");
                xml_escape(&it.body, &mut out);
                out.push_str("</content>\n</entry>\n");
            }
            out.push_str("</feed>\n");
        }
        Format::Json => {
            let items_json: Vec<serde_json::Value> = items
                .iter()
                .map(|it| {
                    serde_json::json!({
                        "id": it.guid,
                        "url": it.link,
                        "title": it.title,
                        "summary": it.summary,
                        "content_html": it.body,
                        "date_published": rfc3339(it.published),
                        "authors": [{ "name": it.author }],
                        "tags": it.categories,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "version": "https://jsonfeed.org/version/1.1",
                "title": title,
                "home_page_url": home,
                "feed_url": format!("{home}feed.json"),
                "language": lang,
                "items": items_json,
            });
            out = serde_json::to_string_pretty(&doc).expect("JSON renders");
        }
    }
    (out.into_bytes(), items.len())
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// Seed salt of the rule generator ("rule").
const RULE_SALT: u64 = 0x7275_6c65;

struct RuleSpec {
    name: String,
    query: String,
    lang: Option<&'static str>,
    tags: Vec<&'static str>,
    feeds: Vec<String>,
}

/// A word of `lang` between ranks `lo` and `hi` (content ranks; the long tail starts after the
/// hand-written words), chosen uniformly.
fn ranked<'a>(lex: &'a Lexicon, lang: Lang, rng: &mut Rng, lo: usize, hi: usize) -> &'a str {
    let words = lex.words(lang);
    &words[rng.range(lo, hi.min(words.len() - 1))]
}

fn tail<'a>(lex: &'a Lexicon, lang: Lang, rng: &mut Rng, lo: usize, hi: usize) -> &'a str {
    let s = lex.tail_start(lang);
    ranked(lex, lang, rng, s + lo, s + hi)
}

fn gen_rules(lex: &Lexicon, seed: u64, m: usize, n_feeds: usize) -> Vec<RuleSpec> {
    let mut out = Vec::with_capacity(m);
    for r in 0..m {
        let mut rng = Rng::derive(seed, RULE_SALT, r as u64);
        let lang = if rng.chance(0.55) { Lang::Id } else { Lang::En };
        let entity = *rng.pick(ENTITIES);
        let head = ranked(lex, lang, &mut rng, 0, lex.tail_start(lang) - 1).to_string();
        let mut spec = RuleSpec {
            name: format!("r{r:04}"),
            query: String::new(),
            lang: None,
            tags: Vec::new(),
            feeds: Vec::new(),
        };
        let shape = rng.next() % 100;
        // Word ranks are chosen so that a rule matches roughly one item in 10,000–50,000, as a
        // specific watch rule does on general news.
        spec.query = match shape {
            // A rare name with a topic word.
            0..=14 => {
                format!("{} AND {}", tail(lex, lang, &mut rng, 8_000, 39_000), tail(lex, lang, &mut rng, 0, 2_000))
            }
            // The classic: an entity phrase and a topic word.
            15..=29 => format!("\"{entity}\" AND {}", tail(lex, lang, &mut rng, 5_000, 39_000)),
            // Synonyms in OR, narrowed by a topic.
            30..=39 => {
                let a = tail(lex, lang, &mut rng, 6_000, 39_000);
                let b = tail(lex, lang, &mut rng, 6_000, 39_000);
                let c = tail(lex, lang, &mut rng, 200, 6_000);
                format!(
                    "({a} OR {b} OR \"{c} {}\") AND {}",
                    tail(lex, lang, &mut rng, 0, 300),
                    tail(lex, lang, &mut rng, 500, 3_000)
                )
            }
            // Exclusions.
            40..=49 => {
                let a = tail(lex, lang, &mut rng, 8_000, 39_000);
                let b = tail(lex, lang, &mut rng, 0, 2_000);
                if rng.chance(0.5) {
                    format!("{a} AND {b} AND NOT {head}")
                } else {
                    format!("{a} {b} -olahraga -sport")
                }
            }
            // Proximity.
            50..=59 => format!("{head} NEAR/5 {}", tail(lex, lang, &mut rng, 2_000, 20_000)),
            // Wildcards inside one word.
            60..=69 => {
                let w = tail(lex, lang, &mut rng, 3_000, 39_000);
                let stem: String = w.chars().take(w.chars().count().max(4) - 1).collect();
                if rng.chance(0.5) {
                    format!("{stem}* AND \"{entity}\"")
                } else {
                    format!("*{stem}* AND {}", tail(lex, lang, &mut rng, 500, 3_000))
                }
            }
            // Field-scoped.
            70..=79 => format!("title:{} AND title:\"{entity}\"", tail(lex, lang, &mut rng, 200, 8_000)),
            // Indonesian stemming and clitics.
            80..=89 => {
                spec.lang = Some("id");
                spec.tags = vec!["id"];
                let w = ranked(lex, Lang::Id, &mut rng, 0, lex.tail_start(Lang::Id) - 1);
                let t = tail(lex, Lang::Id, &mut rng, 5_000, 39_000);
                if rng.chance(0.5) {
                    format!("~{w} AND {t}")
                } else {
                    format!("{w} AND \"{entity}\" AND {t}")
                }
            }
            // Regular expressions.
            90..=94 => {
                let a = tail(lex, lang, &mut rng, 0, 3_000);
                let b = tail(lex, lang, &mut rng, 0, 3_000);
                format!("/{head} ({a}|{b})/i")
            }
            // Ordered proximity to a name.
            _ => format!("\"{entity}\" ONEAR/3 {}", tail(lex, lang, &mut rng, 500, 10_000)),
        };
        // Some rules watch a group of feeds only.
        if spec.tags.is_empty() && rng.chance(0.15) {
            spec.tags = vec![*rng.pick(&["news", "business", "sport", "tech", "world"])];
        } else if rng.chance(0.1) && n_feeds >= 10 {
            spec.feeds = vec![format!("f{:04}*", rng.range(0, (n_feeds - 1) / 10))];
        }
        out.push(spec);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Article pages (`--articles`)
// ---------------------------------------------------------------------------------------------

/// Seed salt of article pages and their rules ("arti").
const ARTICLE_SALT: u64 = 0x6172_7469;

/// Syllables of the words that only article pages carry. The lexicon's syllables have no q, x
/// or z, so none of these words can occur in a feed: a rule on one matches an article's text
/// or nothing.
const ARTICLE_SYLLABLES: &[&str] =
    &["qa", "qi", "qu", "qo", "xa", "xe", "xi", "xo", "za", "ze", "zi", "zo", "zu", "quan", "xen", "zor"];

/// How many article-only words there are (each page carries one to three of them).
const ARTICLE_WORDS: usize = 2_000;

/// Share of article links that answer 404 (a page that cannot be read).
const ARTICLE_MISSING: f64 = 0.02;

fn article_words(seed: u64) -> Vec<String> {
    let mut rng = Rng::derive(seed, ARTICLE_SALT, 0);
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(ARTICLE_WORDS);
    while out.len() < ARTICLE_WORDS {
        let w: String = (0..3).map(|_| *rng.pick(ARTICLE_SYLLABLES)).collect();
        if seen.insert(w.clone()) {
            out.push(w);
        }
    }
    out
}

/// Whether feed `idx` reads its articles under `--articles` with `pct` % of the feeds doing so.
fn is_article_feed(idx: usize, pct: f64) -> bool {
    if pct <= 0.0 {
        return false;
    }
    let every = (100.0 / pct).round().max(1.0) as usize;
    idx % every == every / 3
}

/// Whether the page of item `j` of feed `idx` is missing (the server answers 404).
fn article_missing(seed: u64, idx: usize, j: usize) -> bool {
    Rng::derive(seed, ARTICLE_SALT ^ 0x404, ((idx as u64) << 24) | j as u64).chance(ARTICLE_MISSING)
}

/// The path of item `j`'s page as the feed links it, without the origin.
fn article_path(feed: &FeedMeta, j: usize, title: &str, published: i64) -> String {
    let ymd = chrono::DateTime::from_timestamp(published, 0).unwrap_or_default().format("%Y/%m/%d").to_string();
    let slug: String = title
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    format!("/article/{}/{j}/{ymd}/{slug}", feed.idx)
}

/// A headline for the sidebar, teasers and lists: 6–11 words, most capitalised.
fn headline(lex: &Lexicon, lang: Lang, rng: &mut Rng) -> String {
    let n = rng.range(6, 11);
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        if i == 1 && rng.chance(0.25) {
            words.push(rng.pick(ENTITIES).to_string());
            continue;
        }
        let mut w = String::new();
        word(lex, lang, rng, &mut w);
        words.push(if i == 0 || rng.chance(0.6) { capitalize(&w) } else { w });
    }
    words.join(" ")
}

/// One paragraph of 40–80 words in sentences of 8–20, with `inserts` placed at random words.
fn article_paragraph(lex: &Lexicon, lang: Lang, rng: &mut Rng, inserts: &[&str], out: &mut String) {
    let n = rng.range(40, 80);
    let at: Vec<usize> = inserts.iter().map(|_| rng.range(0, n - 1)).collect();
    let (mut in_sentence, mut sentence_len) = (0, rng.range(8, 20));
    out.push_str("<p>");
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        let start = out.len();
        if let Some(k) = at.iter().position(|&p| p == i) {
            out.push_str(inserts[k]);
        } else if rng.chance(0.03) {
            out.push_str(rng.pick::<&str>(ENTITIES));
        } else if rng.chance(0.01) {
            out.push_str("<strong>");
            word(lex, lang, rng, out);
            out.push_str("</strong>");
        } else {
            word(lex, lang, rng, out);
        }
        if in_sentence == 0 {
            if let Some(first) = out[start..].chars().next().filter(|c| c.is_ascii_lowercase()) {
                out.replace_range(start..start + 1, &first.to_ascii_uppercase().to_string());
            }
        }
        in_sentence += 1;
        if in_sentence >= sentence_len || i + 1 == n {
            out.push(if rng.chance(0.06) { '?' } else { '.' });
            in_sentence = 0;
            sentence_len = rng.range(8, 20);
        } else if rng.chance(0.05) {
            out.push(',');
        }
    }
    out.push_str("</p>\n");
}

/// The HTML page of item `j` of `feed`, shaped like an Indonesian or English news site: head
/// with meta tags, styles and JSON-LD; header and navigation; breadcrumb, headline, byline and
/// date; a figure; 5–10 paragraphs of 40–80 words with a "Baca Juga:" / "Read also:" teaser
/// line among them; tags and a share bar; comments; a sidebar of other headlines; a footer; and
/// inline scripts (ad slots, page state) up to a size of 20–60 KB. One to three article-only
/// words (see [`article_words`]) occur in the paragraphs, and nowhere in the feed.
fn render_article(lex: &Lexicon, art_words: &[String], seed: u64, feed: &FeedMeta, j: usize) -> Vec<u8> {
    let item = gen_item(lex, seed, feed, j);
    let mut rng = Rng::derive(seed, ARTICLE_SALT ^ (feed.idx as u64 + 1), j as u64 + 1);
    let lang = feed.lang;
    let id = lang == Lang::Id;
    let target = rng.range(20_000, 60_000);
    let site = format!("{} {}", if id { "Berita" } else { "News" }, feed.name);
    let origin = feed.article_origin.as_deref().unwrap_or("");
    let url = format!("{origin}{}", article_path(feed, j, &item.title, item.published));
    let category = item.categories.first().copied().unwrap_or("News");
    let when = chrono::DateTime::from_timestamp(item.published + 7 * 3600, 0).unwrap_or_default();
    let mut out = String::with_capacity(target + 8192);

    // Head.
    out.push_str(&format!("<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", if id { "id" } else { "en" }));
    xml_escape(&item.title, &mut out);
    out.push_str(&format!(" - {site}</title>\n<meta name=\"description\" content=\""));
    xml_escape(&item.summary, &mut out);
    out.push_str("\">\n<meta property=\"og:title\" content=\"");
    xml_escape(&item.title, &mut out);
    out.push_str(&format!("\">\n<meta property=\"og:type\" content=\"article\">\n<meta property=\"og:url\" content=\"{url}\">\n<meta property=\"og:image\" content=\"https://cdn.example.org/img/{}-{j}.jpg\">\n<link rel=\"canonical\" href=\"{url}\">\n", feed.idx));
    out.push_str("<style>body{margin:0;font-family:Helvetica,Arial,sans-serif;color:#222}.site-header{background:#0b3d91;color:#fff}.main-nav ul{display:flex;list-style:none;margin:0;padding:0 16px}.main-nav a{color:#fff;padding:12px;display:block;text-decoration:none}.container{display:flex;max-width:1160px;margin:0 auto}main{flex:1 1 760px;padding:16px}.sidebar{flex:0 0 340px;padding:16px}.detail__title{font-size:32px;line-height:1.2}.detail__body-text p{font-size:18px;line-height:1.6}.baca-juga{border-left:4px solid #0b3d91;padding-left:8px}.site-footer{background:#111;color:#aaa;padding:24px}.ads{min-height:250px;background:#f4f4f4}</style>\n");
    let ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": item.title,
        "datePublished": rfc3339(item.published),
        "author": { "@type": "Person", "name": item.author },
        "publisher": { "@type": "Organization", "name": site },
        "mainEntityOfPage": url,
    });
    out.push_str(&format!("<script type=\"application/ld+json\">{ld}</script>\n</head>\n"));

    // Header and navigation.
    out.push_str(&format!("<body class=\"page-article\">\n<header class=\"site-header\">\n<a class=\"logo\" href=\"{origin}/\">{site}</a>\n<nav class=\"main-nav\"><ul>\n<li><a href=\"{origin}/\">Home</a></li>\n"));
    for _ in 0..rng.range(12, 20) {
        let c = *rng.pick(CATEGORIES);
        out.push_str(&format!("<li><a href=\"{origin}/kanal/{}\">{c}</a></li>\n", c.to_lowercase()));
    }
    out.push_str("</ul></nav>\n<div class=\"ads ads--top\" id=\"div-gpt-ad-top\"></div>\n</header>\n");

    // The article.
    out.push_str(&format!("<div class=\"container\">\n<main>\n<div class=\"breadcrumb\"><a href=\"{origin}/\">Home</a> › <a href=\"{origin}/kanal/{}\">{category}</a></div>\n<article class=\"detail\">\n<h1 class=\"detail__title\">", category.to_lowercase()));
    xml_escape(&item.title, &mut out);
    out.push_str(&format!(
        "</h1>\n<div class=\"detail__author\">{} - {site}</div>\n<div class=\"detail__date\">{}</div>\n",
        item.author,
        when.format(if id { "%d/%m/%Y, %H:%M WIB" } else { "%B %-d, %Y %H:%M" })
    ));
    out.push_str(&format!("<figure class=\"detail__media\"><img src=\"https://cdn.example.org/img/{}-{j}.jpg\" alt=\"foto\" width=\"800\" height=\"450\"><figcaption>", feed.idx));
    sentence(lex, lang, &mut rng, false, &mut out);
    out.push_str("</figcaption></figure>\n<div class=\"detail__body-text\">\n");
    let paragraphs = rng.range(5, 10);
    let mut inserts: Vec<Vec<&str>> = vec![Vec::new(); paragraphs];
    for _ in 0..rng.range(1, 3) {
        let p = rng.range(0, paragraphs - 1);
        inserts[p].push(rng.pick(art_words).as_str());
    }
    let teaser_after = rng.range(1, paragraphs.min(4) - 1);
    for (p, words) in inserts.iter().enumerate() {
        article_paragraph(lex, lang, &mut rng, words, &mut out);
        if p == teaser_after {
            let other = rng.range(0, j + feed.count);
            let title = headline(lex, lang, &mut rng);
            out.push_str(&format!(
                "<p class=\"baca-juga\"><strong>{}</strong> <a href=\"{origin}{}\">",
                if id { "Baca Juga:" } else { "Read also:" },
                article_path(feed, other, &title, item.published - 3600)
            ));
            xml_escape(&title, &mut out);
            out.push_str("</a></p>\n");
        }
    }
    out.push_str("</div>\n<div class=\"detail__tags\">Tag: ");
    for _ in 0..rng.range(3, 6) {
        let mut w = String::new();
        word(lex, lang, &mut rng, &mut w);
        out.push_str(&format!("<a href=\"{origin}/tag/{w}\">{w}</a> "));
    }
    out.push_str(&format!("</div>\n<div class=\"share-bar\">{} <a href=\"https://www.facebook.com/sharer.php?u={url}\">Facebook</a> <a href=\"https://twitter.com/intent/tweet?url={url}\">X</a> <a href=\"https://wa.me/?text={url}\">WhatsApp</a> <a href=\"https://t.me/share/url?url={url}\">Telegram</a></div>\n</article>\n", if id { "Bagikan:" } else { "Share:" }));
    out.push_str(&format!(
        "<section class=\"comments\"><h3>{}</h3><p>{}</p></section>\n</main>\n",
        if id { "Komentar" } else { "Comments" },
        if id { "Silakan login untuk berkomentar." } else { "Log in to comment." }
    ));

    // The sidebar: other headlines, until the page has about 60 % of its size in markup.
    out.push_str(&format!(
        "<aside class=\"sidebar\">\n<h3>{}</h3>\n<ul class=\"list-berita\">\n",
        if id { "Berita Terkini" } else { "Latest" }
    ));
    let mut listed = 0;
    while listed < 10 || (out.len() < target * 3 / 5 && listed < 80) {
        let other = rng.range(0, j + feed.count);
        let title = headline(lex, lang, &mut rng);
        let t = item.published - 60 * rng.range(1, 600) as i64;
        out.push_str(&format!(
            "<li class=\"list-berita__item\"><a href=\"{origin}{}\"><img src=\"https://cdn.example.org/thumb/{}-{other}.jpg\" alt=\"\" width=\"120\" height=\"80\" loading=\"lazy\"><h4>",
            article_path(feed, other, &title, t),
            feed.idx
        ));
        xml_escape(&title, &mut out);
        out.push_str(&format!("</h4></a><span class=\"time\">{}</span></li>\n", rfc3339(t)));
        listed += 1;
    }
    out.push_str(&format!("</ul>\n<h3>{}</h3>\n<ol class=\"popular\">\n", if id { "Terpopuler" } else { "Most read" }));
    for _ in 0..10 {
        let other = rng.range(0, j + feed.count);
        let title = headline(lex, lang, &mut rng);
        out.push_str(&format!("<li><a href=\"{origin}{}\">", article_path(feed, other, &title, item.published)));
        xml_escape(&title, &mut out);
        out.push_str("</a></li>\n");
    }
    out.push_str("</ol>\n<div class=\"ads ads--sidebar\" id=\"div-gpt-ad-side\"></div>\n</aside>\n</div>\n");

    // Footer.
    out.push_str("<footer class=\"site-footer\">\n<ul>\n");
    let footer: &[&str] = if id {
        &[
            "Tentang Kami",
            "Redaksi",
            "Pedoman Media Siber",
            "Kontak",
            "Karir",
            "Info Iklan",
            "Kebijakan Privasi",
            "Syarat & Ketentuan",
            "Disclaimer",
            "Indeks Berita",
        ]
    } else {
        &[
            "About us",
            "Newsroom",
            "Editorial standards",
            "Contact",
            "Careers",
            "Advertise",
            "Privacy policy",
            "Terms of use",
            "Corrections",
            "Archive",
        ]
    };
    for f in footer {
        out.push_str(&format!("<li><a href=\"{origin}/{}\">", f.to_lowercase().replace(' ', "-")));
        xml_escape(f, &mut out);
        out.push_str("</a></li>\n");
    }
    out.push_str(&format!("</ul>\n<p>Copyright © 2025 {site}. All rights reserved.</p>\n</footer>\n"));

    // Inline scripts up to the page's size: ad slots and the page's state, as news sites have.
    out.push_str("<script>window.dataLayer=window.dataLayer||[];window.__PAGE_STATE__={\"ads\":[");
    let mut slot = 0;
    while out.len() + 40 < target {
        let mut kw = String::new();
        word(lex, lang, &mut rng, &mut kw);
        out.push_str(&format!(
            "{}{{\"slot\":\"div-gpt-ad-{}-{slot}\",\"sizes\":[[300,250],[336,280]],\"targeting\":{{\"kw\":\"{kw}\",\"pos\":{slot},\"kanal\":\"{}\"}}}}",
            if slot > 0 { "," } else { "" },
            feed.idx,
            category.to_lowercase()
        ));
        slot += 1;
    }
    out.push_str("]};</script>\n</body>\n</html>\n");
    out.into_bytes()
}

/// Rules on article-only words (named `a0000`…): plain, scoped with `article:`, or in OR.
fn gen_article_rules(art_words: &[String], seed: u64, m: usize) -> Vec<RuleSpec> {
    (0..m)
        .map(|r| {
            let mut rng = Rng::derive(seed, ARTICLE_SALT ^ RULE_SALT, r as u64);
            let a = rng.pick(art_words).clone();
            let query = match rng.next() % 3 {
                0 => a,
                1 => format!("article:{a}"),
                _ => format!("{a} OR {}", rng.pick(art_words)),
            };
            RuleSpec { name: format!("a{r:04}"), query, lang: None, tags: Vec::new(), feeds: Vec::new() }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The pantau config: `feeds` served by the bench server, every rule, one webhook sink.
///
/// `max_age` is off: the generated items are dated 2025, and the default of a week would keep
/// every one of them from alerting (and from having its page read). With `articles` set to
/// `Some(true)` the feeds whose items link to the bench's article pages read them.
fn write_config(
    path: &Path,
    port: u16,
    metas: &[FeedMeta],
    rules: &[RuleSpec],
    concurrency: usize,
    articles: Option<bool>,
) {
    let mut s = String::new();
    s.push_str("# Written by benches/pipeline.rs. Every feed is on 127.0.0.1, so per_host = concurrency.\n");
    s.push_str(&format!(
        "[daemon]\ndatabase = \"pantau.db\"\ndefault_interval = \"15m\"\nconcurrency = {concurrency}\nper_host = {concurrency}\ntimeout = \"60s\"\nfirst_poll = \"alert\"\nshutdown_grace = \"5s\"\n"
    ));
    s.push_str("max_age = \"off\"\n");
    s.push('\n');
    for m in metas {
        s.push_str(&format!(
            "[[feed]]\nname = \"{}\"\nurl = \"http://127.0.0.1:{port}/feed/{}\"\ntags = [{}]\n\n",
            m.name,
            m.idx,
            m.tags.iter().map(|t| toml_str(t)).collect::<Vec<_>>().join(", ")
        ));
        if articles == Some(true) && m.article_origin.is_some() {
            s.truncate(s.len() - 1);
            s.push_str("fetch_article = true\n\n");
        }
    }
    for r in rules {
        s.push_str(&format!("[[rule]]\nname = \"{}\"\nquery = '''{}'''\n", r.name, r.query));
        if let Some(l) = r.lang {
            s.push_str(&format!("lang = \"{l}\"\n"));
        }
        if !r.tags.is_empty() {
            s.push_str(&format!("tags = [{}]\n", r.tags.iter().map(|t| toml_str(t)).collect::<Vec<_>>().join(", ")));
        }
        if !r.feeds.is_empty() {
            s.push_str(&format!("feeds = [{}]\n", r.feeds.iter().map(|t| toml_str(t)).collect::<Vec<_>>().join(", ")));
        }
        s.push('\n');
    }
    s.push_str(&format!("[[sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\n"));
    std::fs::write(path, s).unwrap_or_else(|e| die(&format!("cannot write {}: {e}", path.display())));
}

// ---------------------------------------------------------------------------------------------
// The local HTTP server: feeds with ETags, and the webhook receiver
// ---------------------------------------------------------------------------------------------

struct Doc {
    body: Arc<Vec<u8>>,
    etag: String,
    content_type: &'static str,
}

#[derive(Default)]
struct Server {
    docs: RwLock<Vec<Arc<Doc>>>,
    ok: AtomicU64,
    not_modified: AtomicU64,
    bytes_out: AtomicU64,
    posts: AtomicU64,
    keys: Mutex<HashSet<String>>,
    first_post: Mutex<Option<Instant>>,
    last_post: Mutex<Option<Instant>>,
    /// Article pages by (feed, item); a page not here answers 404.
    pages: RwLock<Pages>,
    page_ok: AtomicU64,
    page_missing: AtomicU64,
    page_bytes: AtomicU64,
    last_page: Mutex<Option<Instant>>,
    /// Under `--articles`: when each feed was first asked for since the last reset, and what
    /// each webhook call carried and when it arrived.
    record: AtomicBool,
    polled: Mutex<HashMap<usize, Instant>>,
    arrivals: Mutex<Vec<Arrival>>,
}

/// Article pages by (feed index, item index).
type Pages = HashMap<(usize, usize), Arc<Vec<u8>>>;

/// One webhook call, as the receiver saw it (recorded under `--articles`).
struct Arrival {
    at: Instant,
    feed: String,
    rule: String,
    article: bool,
}

impl Server {
    fn reset_counters(&self) {
        self.ok.store(0, Ordering::SeqCst);
        self.not_modified.store(0, Ordering::SeqCst);
        self.bytes_out.store(0, Ordering::SeqCst);
        self.posts.store(0, Ordering::SeqCst);
        *self.first_post.lock().unwrap() = None;
        *self.last_post.lock().unwrap() = None;
        self.page_ok.store(0, Ordering::SeqCst);
        self.page_missing.store(0, Ordering::SeqCst);
        self.page_bytes.store(0, Ordering::SeqCst);
        *self.last_page.lock().unwrap() = None;
        self.polled.lock().unwrap().clear();
        self.arrivals.lock().unwrap().clear();
    }
}

async fn serve(listener: TcpListener, st: Arc<Server>) {
    loop {
        let Ok((sock, _)) = listener.accept().await else { continue };
        let st = Arc::clone(&st);
        tokio::spawn(async move {
            let _ = connection(sock, st).await;
        });
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decode a complete chunked body at the start of `buf`: (body, bytes consumed), or None when
/// more bytes are needed.
fn chunked(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let line_end = pos + find(&buf[pos..], b"\r\n")?;
        let size_text = std::str::from_utf8(&buf[pos..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        pos = line_end + 2;
        if size == 0 {
            let end = pos + find(&buf[pos..], b"\r\n")?;
            return Some((body, end + 2));
        }
        if buf.len() < pos + size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

async fn connection(mut sock: TcpStream, st: Arc<Server>) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut tmp = vec![0u8; 64 * 1024];
    loop {
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&tmp[..n]);
            if buf.len() > 1 << 20 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request = lines.next().unwrap_or("").split(' ');
        let method = request.next().unwrap_or("").to_string();
        let path = request.next().unwrap_or("").to_string();
        let (mut length, mut is_chunked, mut if_none_match, mut close) = (0usize, false, None::<String>, false);
        for line in lines {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse().unwrap_or(0),
                "transfer-encoding" => is_chunked = v.eq_ignore_ascii_case("chunked"),
                "if-none-match" => if_none_match = Some(v.to_string()),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let (body, consumed) = loop {
            let rest = &buf[head_end..];
            if is_chunked {
                if let Some((b, used)) = chunked(rest) {
                    break (b, head_end + used);
                }
            } else if rest.len() >= length {
                break (rest[..length].to_vec(), head_end + length);
            }
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&tmp[..n]);
        };
        buf.drain(..consumed);

        if method == "POST" && path == "/hook" {
            let key = head
                .split("\r\n")
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("idempotency-key"))
                        .map(|(_, v)| v.trim().to_string())
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(64)]).into_owned());
            let now = Instant::now();
            st.first_post.lock().unwrap().get_or_insert(now);
            *st.last_post.lock().unwrap() = Some(now);
            st.posts.fetch_add(1, Ordering::Relaxed);
            st.keys.lock().unwrap().insert(key);
            if st.record.load(Ordering::Relaxed) {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                st.arrivals.lock().unwrap().push(Arrival {
                    at: now,
                    feed: v["feed"]["name"].as_str().unwrap_or_default().to_string(),
                    rule: v["rule"].as_str().unwrap_or_default().to_string(),
                    article: v["item"]["article"].as_bool().unwrap_or(false),
                });
            }
            sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok").await?;
        } else if let Some(doc) = path
            .strip_prefix("/feed/")
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| st.docs.read().unwrap().get(i).cloned())
            .filter(|_| method == "GET")
        {
            if st.record.load(Ordering::Relaxed) {
                let idx = path["/feed/".len()..].parse::<usize>().unwrap_or(usize::MAX);
                st.polled.lock().unwrap().entry(idx).or_insert_with(Instant::now);
            }
            if if_none_match.as_deref() == Some(doc.etag.as_str()) {
                st.not_modified.fetch_add(1, Ordering::Relaxed);
                let head = format!("HTTP/1.1 304 Not Modified\r\nETag: {}\r\n\r\n", doc.etag);
                sock.write_all(head.as_bytes()).await?;
            } else {
                st.ok.fetch_add(1, Ordering::Relaxed);
                st.bytes_out.fetch_add(doc.body.len() as u64, Ordering::Relaxed);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nETag: {}\r\nContent-Length: {}\r\n\r\n",
                    doc.content_type,
                    doc.etag,
                    doc.body.len()
                );
                sock.write_all(head.as_bytes()).await?;
                sock.write_all(&doc.body).await?;
            }
        } else if let Some(key) = path.strip_prefix("/article/").filter(|_| method == "GET").and_then(|rest| {
            let mut parts = rest.split('/');
            Some((parts.next()?.parse::<usize>().ok()?, parts.next()?.parse::<usize>().ok()?))
        }) {
            let page = st.pages.read().unwrap().get(&key).cloned();
            *st.last_page.lock().unwrap() = Some(Instant::now());
            match page {
                Some(page) => {
                    st.page_ok.fetch_add(1, Ordering::Relaxed);
                    st.page_bytes.fetch_add(page.len() as u64, Ordering::Relaxed);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                        page.len()
                    );
                    sock.write_all(head.as_bytes()).await?;
                    sock.write_all(&page).await?;
                }
                None => {
                    st.page_missing.fetch_add(1, Ordering::Relaxed);
                    let body = "<!DOCTYPE html><html><body><h1>404</h1><p>Halaman tidak ditemukan</p></body></html>";
                    let head = format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    sock.write_all(head.as_bytes()).await?;
                    sock.write_all(body.as_bytes()).await?;
                }
            }
        } else {
            sock.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await?;
        }
        if close {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary and watching it
// ---------------------------------------------------------------------------------------------

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` of Linux (x86_64 / aarch64 layout).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
}

const RUSAGE_CHILDREN: i32 = -1;
const SIGTERM: i32 = 15;

fn children_usage() -> Rusage {
    let mut r = Rusage::default();
    // SAFETY: getrusage writes one struct rusage, which `Rusage` mirrors.
    unsafe { getrusage(RUSAGE_CHILDREN, &mut r) };
    r
}

fn secs(t: Timeval) -> f64 {
    t.sec as f64 + t.usec as f64 / 1e6
}

/// Kilobyte figures of /proc/PID/status.
fn proc_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l[key.len()..].trim().trim_end_matches("kB").trim().parse().ok())
}

#[derive(Default, Clone, Copy)]
struct Sampled {
    max_rss_kb: u64,
    last_hwm_kb: u64,
}

/// Poll VmRSS/VmHWM of `pid` every 10 ms until `stop`.
fn sampler(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Sampled> {
    std::thread::spawn(move || {
        let mut s = Sampled::default();
        while !stop.load(Ordering::Relaxed) {
            if let Some(rss) = proc_kb(pid, "VmRSS:") {
                s.max_rss_kb = s.max_rss_kb.max(rss);
            }
            if let Some(hwm) = proc_kb(pid, "VmHWM:") {
                s.last_hwm_kb = s.last_hwm_kb.max(hwm);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        s
    })
}

struct RunResult {
    wall: Duration,
    user: f64,
    sys: f64,
    peak_rss_kb: u64,
    ok: bool,
    report: Option<serde_json::Value>,
}

fn pantau_command(args: &Args, config: &Path, log: &Path) -> Command {
    let mut cmd = Command::new(&args.pantau);
    cmd.arg("-c").arg(config).arg("--log-format").arg("json");
    cmd.env("RUST_LOG", &args.log_filter);
    // Only 127.0.0.1 is ever contacted: no proxy may intercept it.
    for k in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(k);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost");
    let log = std::fs::File::create(log).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", log.display())));
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    cmd
}

/// The fields of the last "cycle complete" line of a JSON log.
fn cycle_report(log: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "cycle complete")
        .map(|v| v["fields"].clone())
}

fn run_once(args: &Args, config: &Path, log: &Path, max_seen_kb: &mut i64) -> RunResult {
    let before = children_usage();
    let start = Instant::now();
    let mut child = pantau_command(args, config, log)
        .arg("once")
        .spawn()
        .unwrap_or_else(|e| die(&format!("cannot start {}: {e}", args.pantau.display())));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = sampler(child.id(), Arc::clone(&stop));
    let status = child.wait().expect("wait for pantau");
    let wall = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let sampled = watcher.join().unwrap_or_default();
    let after = children_usage();
    // ru_maxrss of RUSAGE_CHILDREN is not used for the peak: a child started with
    // posix_spawn/vfork inherits the high-water mark of this (large) process until exec, so it
    // reports the bench's own RSS. VmHWM of the exec'd image, sampled, is the child's own.
    *max_seen_kb = (*max_seen_kb).max(after.maxrss);
    RunResult {
        wall,
        user: secs(after.utime) - secs(before.utime),
        sys: secs(after.stime) - secs(before.stime),
        peak_rss_kb: sampled.max_rss_kb.max(sampled.last_hwm_kb),
        ok: status.success(),
        report: cycle_report(log),
    }
}

// ---------------------------------------------------------------------------------------------
// In-process ingest
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Ingest {
    docs: usize,
    bytes: usize,
    items: usize,
    alerts: usize,
    items_alerting: usize,
    total: Duration,
    parse: Duration,
    matching: Duration,
    store: Duration,
    parse_only_pantau: Duration,
    feed_rs: Duration,
    feed_rs_items: usize,
    feed_rs_failed: usize,
}

fn ingest(rt: &tokio::runtime::Runtime, dir: &Path, config_path: &Path, docs: &[(FeedMeta, Arc<Vec<u8>>)]) -> Ingest {
    let mut r = Ingest { docs: docs.len(), bytes: docs.iter().map(|(_, d)| d.len()).sum(), ..Ingest::default() };

    // feed-rs parse-only, the baseline.
    let t = Instant::now();
    for (_, doc) in docs {
        match feed_rs::parser::parse(&doc[..]) {
            Ok(f) => r.feed_rs_items += f.entries.len(),
            Err(_) => r.feed_rs_failed += 1,
        }
    }
    r.feed_rs = t.elapsed();

    // pantau's parser alone.
    let t = Instant::now();
    for (m, doc) in docs {
        let url = format!("http://127.0.0.1/feed/{}", m.idx);
        let _ = std::hint::black_box(pantau::parse::parse_feed(doc, Some(&url)));
    }
    r.parse_only_pantau = t.elapsed();

    // Parse + match + store, as one poll does it, without HTTP.
    let source = std::fs::read_to_string(config_path).expect("config written");
    let config = pantau::config::load_str(config_path, &source, &|_| None)
        .unwrap_or_else(|e| die(&format!("the generated config is invalid: {e:?}")));
    let db = dir.join("ingest.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    rt.block_on(async {
        let store = pantau::store::Store::open(&db).await.expect("open the ingest database");
        let refs =
            config.feeds.iter().map(|f| pantau::model::FeedRef { name: f.name.clone(), url: f.url.clone() }).collect();
        store.sync_feeds(refs).await.expect("sync feeds");
        let start = Instant::now();
        for (m, doc) in docs {
            let feed = &config.feeds[m.idx];
            let t = Instant::now();
            let parsed = match pantau::parse::parse_feed(doc, Some(&feed.url)) {
                Ok(p) => p,
                Err(e) => die(&format!("pantau cannot parse generated feed {}: {e}", feed.name)),
            };
            r.parse += t.elapsed();
            r.items += parsed.items.len();

            let t = Instant::now();
            let ids = pantau::identity::identify(&parsed.items, feed.id_policy);
            let keys = ids.iter().map(|i| i.key.clone()).collect();
            let links = ids.iter().filter_map(|i| i.link.clone()).collect();
            let known = store.known_items(&feed.name, keys, links).await.expect("known items");
            r.store += t.elapsed();

            let t = Instant::now();
            let now = chrono::Utc::now();
            let mut record = pantau::store::PollRecord {
                feed: feed.name.clone(),
                etag: Some(format!("\"v0-{}\"", m.idx)),
                status: pantau::model::PollStatus::http(200),
                grouping: config.daemon.grouping(),
                ..Default::default()
            };
            let mut seen = HashSet::new();
            for (mut item, id) in parsed.items.into_iter().zip(ids) {
                if !seen.insert(id.key.clone()) || known.keys.contains_key(&id.key) {
                    continue;
                }
                item.id = id.key.clone();
                let alerts = pantau::pipeline::alerts_for(&config, feed, &item, now);
                r.alerts += alerts.len();
                r.items_alerting += usize::from(!alerts.is_empty());
                let signature = pantau::stories::Signature::of_item(&item);
                record.items.push(pantau::store::Polled {
                    item,
                    identity: id,
                    alerts,
                    fetch_article: false,
                    signature,
                });
            }
            r.matching += t.elapsed();

            let t = Instant::now();
            store.commit_poll(record).await.expect("commit");
            r.store += t.elapsed();
        }
        r.total = start.elapsed();
    });
    r
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

struct Report {
    rows: Vec<(String, String, String, String)>,
    kv: Vec<(String, String)>,
}

impl Report {
    fn row(&mut self, what: &str, value: String, target: &str, verdict: Option<bool>) {
        let v = match verdict {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        self.rows.push((what.into(), value, target.into(), v.into()));
    }
    fn kv(&mut self, k: &str, v: impl ToString) {
        self.kv.push((k.into(), v.to_string()));
    }
}

fn machine() -> (usize, String, String) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let ram = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| l.trim_start_matches("MemTotal:").trim().trim_end_matches("kB").trim().to_string())
        })
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| format!("{:.1} GiB", k / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    (cores, cpu, ram)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// The article stage (`--articles`)
// ---------------------------------------------------------------------------------------------

/// How many lines of a JSON log have a message that starts with `prefix`.
fn log_count(log: &Path, prefix: &str) -> usize {
    let Ok(text) = std::fs::read_to_string(log) else { return 0 };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .count()
}

/// The `p`-th percentile (nearest rank) of sorted `xs`.
fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs[((p / 100.0 * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1]
}

/// A fresh directory under `dir` with a config (and so a fresh database).
fn fresh_config(dir: &Path, name: &str, write: impl FnOnce(&Path)) -> PathBuf {
    let d = dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", d.display())));
    let cfg = d.join("pantau.toml");
    write(&cfg);
    cfg
}

/// The article stage, measured three ways on fresh databases: `once` with the same feeds and
/// rules without and with `fetch_article` (the difference in CPU is the stage's cost), then a
/// `run` daemon with it, whose alerts are timed from their feed's poll to the webhook receiver.
fn articles(
    args: &Args,
    server: &Server,
    metas: &[FeedMeta],
    rules: &[RuleSpec],
    port: u16,
    workdir: &Path,
    rep: &mut Report,
) {
    let dir = workdir.join("articles");
    let write = |fetch: bool| move |p: &Path| write_config(p, port, metas, rules, args.concurrency, Some(fetch));
    let plain_cfg = fresh_config(&dir, "plain", write(false));
    let fetch_cfg = fresh_config(&dir, "fetch", write(true));
    let run_cfg = fresh_config(&dir, "run", write(true));
    let article_feeds = metas.iter().filter(|m| m.article_origin.is_some()).count();
    // Every version of a document has `count` items, so this holds after cycle 3 too.
    let article_items: usize = metas.iter().filter(|m| m.article_origin.is_some()).map(|m| m.count).sum();
    let is_article_alert = |a: &Arrival| a.rule.starts_with('a');
    server.record.store(true, Ordering::SeqCst);
    let mut max_seen = 0;

    eprintln!("bench: articles: `once` without fetch_article …");
    server.reset_counters();
    let plain = run_once(args, &plain_cfg, &dir.join("plain").join("once.log"), &mut max_seen);
    let plain_posts = server.posts.load(Ordering::SeqCst);
    let plain_article_rule_alerts = server.arrivals.lock().unwrap().iter().filter(|a| is_article_alert(a)).count();

    eprintln!("bench: articles: `once` with fetch_article on {article_feeds} feeds ({article_items} items) …");
    server.reset_counters();
    let fetch_log = dir.join("fetch").join("once.log");
    let fetch = run_once(args, &fetch_cfg, &fetch_log, &mut max_seen);
    let fetch_posts = server.posts.load(Ordering::SeqCst);
    let (pages, missing, page_bytes) = (
        server.page_ok.load(Ordering::SeqCst),
        server.page_missing.load(Ordering::SeqCst),
        server.page_bytes.load(Ordering::SeqCst),
    );
    let (read, failed) = (log_count(&fetch_log, "read article"), log_count(&fetch_log, "article not read"));
    let (fetch_article_rule_alerts, fetch_with_text) = {
        let arrivals = server.arrivals.lock().unwrap();
        (arrivals.iter().filter(|a| is_article_alert(a)).count(), arrivals.iter().filter(|a| a.article).count())
    };
    let cpu_plain = plain.user + plain.sys;
    let cpu_fetch = fetch.user + fetch.sys;
    let added = cpu_fetch - cpu_plain;
    let per_item_us = 1e6 * added / article_items.max(1) as f64;
    let per_page_us = 1e6 * added / (pages + missing).max(1) as f64;

    eprintln!("bench: articles: `run` daemon with fetch_article, alerts timed from poll to receiver …");
    server.reset_counters();
    let expected_pages = pages + missing;
    let before = children_usage();
    let start = Instant::now();
    // The log's clock, to place its lines on the receiver's.
    let start_utc = chrono::Utc::now();
    let run_log = dir.join("run").join("run.log");
    let mut child = pantau_command(args, &run_cfg, &run_log)
        .arg("run")
        .spawn()
        .unwrap_or_else(|e| die(&format!("cannot start {}: {e}", args.pantau.display())));
    // Done when every feed was polled, every page asked for, and nothing arrived for 3 s; or
    // when nothing happened for 20 s after the polls (some page was not asked for); or after
    // 15 minutes.
    let deadline = start + Duration::from_secs(900);
    let mut timed_out = false;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(Some(_)) = child.try_wait() {
            die("the article daemon exited early; see its log");
        }
        let polled = server.polled.lock().unwrap().len();
        let last = [
            server.polled.lock().unwrap().values().max().copied(),
            *server.last_page.lock().unwrap(),
            *server.last_post.lock().unwrap(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(start);
        let asked = server.page_ok.load(Ordering::SeqCst) + server.page_missing.load(Ordering::SeqCst);
        let quiet = last.elapsed();
        if polled >= metas.len()
            && ((asked >= expected_pages && quiet >= Duration::from_secs(3)) || quiet >= Duration::from_secs(20))
        {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
    }
    let run_wall = start.elapsed();
    // SAFETY: plain kill(2) on our own child.
    unsafe { kill(child.id() as i32, SIGTERM) };
    let status = child.wait().expect("wait for the article daemon");
    let after = children_usage();
    let run_cpu = secs(after.utime) - secs(before.utime) + secs(after.stime) - secs(before.stime);
    let run_pages = server.page_ok.load(Ordering::SeqCst);
    let (mut with_article, mut feed_only, mut unmatched) = (Vec::new(), Vec::new(), 0usize);
    {
        let polled = server.polled.lock().unwrap();
        for a in server.arrivals.lock().unwrap().iter() {
            let idx = a.feed.strip_prefix('f').and_then(|n| n.parse::<usize>().ok());
            let (Some(idx), Some(meta)) = (idx, idx.and_then(|i| metas.get(i))) else {
                unmatched += 1;
                continue;
            };
            let Some(polled_at) = polled.get(&idx) else {
                unmatched += 1;
                continue;
            };
            let ms = a.at.saturating_duration_since(*polled_at).as_secs_f64() * 1e3;
            if meta.article_origin.is_some() {
                with_article.push(ms);
            } else {
                feed_only.push(ms);
            }
        }
    }
    with_article.sort_by(f64::total_cmp);
    feed_only.sort_by(f64::total_cmp);
    // Poll → "rule matched" in the daemon's log: when the alert was queued, before the webhook
    // worker's queue (which thousands of alerts make long) is waited for.
    let (mut matched_article, mut matched_feed_only) = (Vec::new(), Vec::new());
    {
        let polled = server.polled.lock().unwrap();
        let text = std::fs::read_to_string(&run_log).unwrap_or_default();
        for v in text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
            if v["fields"]["message"] != "rule matched" {
                continue;
            }
            let idx = v["fields"]["feed"].as_str().and_then(|f| f.strip_prefix('f')).and_then(|n| n.parse().ok());
            let at = v["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            let (Some(idx), Some(at)) = (idx, at) else { continue };
            let (Some(meta), Some(polled_at)) = (metas.get(idx), polled.get(&idx)) else { continue };
            let matched_ms = (at.with_timezone(&chrono::Utc) - start_utc).num_microseconds().unwrap_or(0) as f64 / 1e3;
            let polled_ms = polled_at.saturating_duration_since(start).as_secs_f64() * 1e3;
            let ms = (matched_ms - polled_ms).max(0.0);
            if meta.article_origin.is_some() {
                matched_article.push(ms);
            } else {
                matched_feed_only.push(ms);
            }
        }
    }
    matched_article.sort_by(f64::total_cmp);
    matched_feed_only.sort_by(f64::total_cmp);
    server.record.store(false, Ordering::SeqCst);

    let (a50, a95) = (percentile(&with_article, 50.0), percentile(&with_article, 95.0));
    let (f50, f95) = (percentile(&feed_only, 50.0), percentile(&feed_only, 95.0));
    rep.row(
        &format!("articles: {article_feeds} feeds with fetch_article ({article_items} items), `once` without / with"),
        format!(
            "{:.2} s / {:.2} s{}",
            plain.wall.as_secs_f64(),
            fetch.wall.as_secs_f64(),
            if plain.ok && fetch.ok { "" } else { " (exit ≠ 0)" }
        ),
        "",
        None,
    );
    rep.row(
        "  CPU user + sys without / with",
        format!("{:.2} s + {:.2} s / {:.2} s + {:.2} s", plain.user, plain.sys, fetch.user, fetch.sys),
        "",
        None,
    );
    rep.row(
        "  added CPU per article item / per page asked for",
        format!("{per_item_us:.0} µs / {per_page_us:.0} µs"),
        "",
        None,
    );
    rep.row(
        "  pages served / 404 (log: read / not read)",
        format!(
            "{pages} ({:.0} KB each) / {missing} ({read} / {failed})",
            page_bytes as f64 / pages.max(1) as f64 / 1024.0
        ),
        "",
        None,
    );
    rep.row(
        "  alerts without / with (on article-only words; payloads with article text)",
        format!(
            "{plain_posts} / {fetch_posts} ({plain_article_rule_alerts} / {fetch_article_rule_alerts}; {fetch_with_text})"
        ),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → webhook, article items p50 / p95",
        format!("{a50:.0} ms / {a95:.0} ms ({} alerts)", with_article.len()),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → webhook, feed-only items p50 / p95",
        format!("{f50:.0} ms / {f95:.0} ms ({} alerts)", feed_only.len()),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → rule matched (log), article items p50 / p95",
        format!(
            "{:.0} ms / {:.0} ms ({} alerts)",
            percentile(&matched_article, 50.0),
            percentile(&matched_article, 95.0),
            matched_article.len()
        ),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → rule matched (log), feed-only items p50 / p95",
        format!(
            "{:.0} ms / {:.0} ms ({} alerts)",
            percentile(&matched_feed_only, 50.0),
            percentile(&matched_feed_only, 95.0),
            matched_feed_only.len()
        ),
        "",
        None,
    );
    rep.row(
        "  `run`: pages served; wall until quiet; CPU; exit after SIGTERM",
        format!(
            "{run_pages}; {:.1} s{}; {run_cpu:.2} s; {status}{}",
            run_wall.as_secs_f64(),
            if timed_out { " (timed out)" } else { "" },
            if unmatched > 0 { format!(" ({unmatched} alerts of unknown feeds)") } else { String::new() }
        ),
        "",
        None,
    );
    rep.kv("articles_feeds", article_feeds);
    rep.kv("articles_items", article_items);
    rep.kv("articles_pages", pages);
    rep.kv("articles_pages_missing", missing);
    rep.kv("articles_page_kb", format!("{:.1}", page_bytes as f64 / pages.max(1) as f64 / 1024.0));
    rep.kv("articles_read", read);
    rep.kv("articles_failures", failed);
    rep.kv("articles_plain_wall_s", format!("{:.3}", plain.wall.as_secs_f64()));
    rep.kv("articles_once_wall_s", format!("{:.3}", fetch.wall.as_secs_f64()));
    rep.kv("articles_plain_cpu_s", format!("{cpu_plain:.2}"));
    rep.kv("articles_once_cpu_s", format!("{cpu_fetch:.2}"));
    rep.kv("articles_cpu_us_per_item", format!("{per_item_us:.0}"));
    rep.kv("articles_cpu_us_per_page", format!("{per_page_us:.0}"));
    rep.kv("articles_alerts_plain", plain_posts);
    rep.kv("articles_alerts", fetch_posts);
    rep.kv("articles_only_alerts", fetch_article_rule_alerts);
    rep.kv("articles_alerts_with_text", fetch_with_text);
    let mut latency = |key: &str, xs: &[f64]| {
        if !xs.is_empty() {
            rep.kv(&format!("{key}_p50_ms"), format!("{:.0}", percentile(xs, 50.0)));
            rep.kv(&format!("{key}_p95_ms"), format!("{:.0}", percentile(xs, 95.0)));
        }
        rep.kv(&format!("{key}_n"), xs.len());
    };
    latency("articles_alert_latency", &with_article);
    latency("feed_only_alert_latency", &feed_only);
    latency("articles_match_latency", &matched_article);
    latency("feed_only_match_latency", &matched_feed_only);
    rep.kv("articles_run_wall_s", format!("{:.1}", run_wall.as_secs_f64()));
    rep.kv("articles_run_pages", run_pages);
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

fn main() {
    let args = parse_args();
    let workdir = args
        .workdir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("pantau-bench-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", workdir.display())));
    if (!args.skip_cycles || !args.skip_idle) && !args.pantau.is_file() {
        die(&format!(
            "no pantau binary at {} (build it with `cargo build --release`, or pass --pantau / $PANTAU_BIN)",
            args.pantau.display()
        ));
    }
    let (cores, cpu, ram) = machine();
    eprintln!("bench: {} feeds, {} rules, seed {}, workdir {}", args.feeds, args.rules, args.seed, workdir.display());

    // The server's port comes first: under --articles, the links of items point to it.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();

    // Generate every document (both cores; each feed is independent).
    let t = Instant::now();
    let lex = Arc::new(Lexicon::new(args.seed));
    let metas: Vec<FeedMeta> = (0..args.feeds)
        .map(|i| {
            let mut m = feed_meta(args.seed, i);
            if args.articles && is_article_feed(i, args.article_pct) {
                m.article_origin = Some(format!("http://127.0.0.1:{port}"));
            }
            m
        })
        .collect();
    let generated: Vec<(Vec<u8>, usize)> = {
        let threads = cores.max(1);
        let chunk = args.feeds.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = metas
                .chunks(chunk)
                .map(|part| {
                    let lex = Arc::clone(&lex);
                    s.spawn(move || part.iter().map(|m| render_feed(&lex, args.seed, m, 0)).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("generator thread")).collect()
        })
    };
    let total_items: usize = generated.iter().map(|(_, n)| n).sum();
    let total_bytes: usize = generated.iter().map(|(d, _)| d.len()).sum();
    let formats = [Format::Rss, Format::Atom, Format::Json].map(|f| metas.iter().filter(|m| m.format == f).count());
    let id_feeds = metas.iter().filter(|m| m.lang == Lang::Id).count();
    eprintln!(
        "bench: generated {} feeds ({} RSS, {} Atom, {} JSON; {} Indonesian), {} items, {:.1} MB in {:.1} s",
        args.feeds,
        formats[0],
        formats[1],
        formats[2],
        id_feeds,
        total_items,
        total_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let docs: Vec<Arc<Doc>> = generated
        .iter()
        .zip(&metas)
        .map(|((d, _), m)| {
            Arc::new(Doc {
                body: Arc::new(d.clone()),
                etag: format!("\"v0-{}\"", m.idx),
                content_type: m.format.content_type(),
            })
        })
        .collect();
    drop(generated);
    let mut rules = gen_rules(&lex, args.seed, args.rules, args.feeds);
    let mut pages = Pages::new();
    if args.articles {
        // Pages of every item of the first two versions of each article feed (cycle 3 serves
        // the second), but the missing ones.
        let t = Instant::now();
        let art_words = article_words(args.seed);
        rules.extend(gen_article_rules(&art_words, args.seed, (args.rules / 10).max(5)));
        let article_feeds: Vec<&FeedMeta> = metas.iter().filter(|m| m.article_origin.is_some()).collect();
        let chunk = article_feeds.len().div_ceil(cores.max(1)).max(1);
        pages = std::thread::scope(|s| {
            let handles: Vec<_> = article_feeds
                .chunks(chunk)
                .map(|part| {
                    let (lex, art_words) = (Arc::clone(&lex), &art_words);
                    s.spawn(move || {
                        let mut out = Vec::new();
                        for m in part {
                            for j in (0..m.count + m.step).filter(|&j| !article_missing(args.seed, m.idx, j)) {
                                out.push(((m.idx, j), Arc::new(render_article(&lex, art_words, args.seed, m, j))));
                            }
                        }
                        out
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("article generator thread")).collect()
        });
        let bytes: usize = pages.values().map(|p| p.len()).sum();
        eprintln!(
            "bench: generated {} article pages for {} feeds ({:.0} KB each on average, {} rules on article-only words) in {:.1} s",
            pages.len(),
            article_feeds.len(),
            bytes as f64 / pages.len().max(1) as f64 / 1024.0,
            (args.rules / 10).max(5),
            t.elapsed().as_secs_f64()
        );
    }

    if let Some(dir) = &args.write_feeds {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", dir.display())));
        for (m, d) in metas.iter().zip(&docs).take(args.ingest_feeds) {
            std::fs::write(dir.join(format!("{}.{}", m.name, m.format.ext())), &d.body[..]).expect("write feed file");
        }
        eprintln!("bench: wrote {} documents to {}", args.ingest_feeds, dir.display());
    }

    let server = Arc::new(Server { docs: RwLock::new(docs), pages: RwLock::new(pages), ..Server::default() });
    rt.spawn(serve(listener, Arc::clone(&server)));

    let config_path = workdir.join("pantau.toml");
    write_config(&config_path, port, &metas, &rules, args.concurrency, None);

    let mut rep = Report { rows: Vec::new(), kv: Vec::new() };
    rep.kv("machine_cores", cores);
    rep.kv("machine_cpu", &cpu);
    rep.kv("machine_ram", &ram);
    rep.kv("feeds", args.feeds);
    rep.kv("rules", args.rules);
    rep.kv("items", total_items);
    rep.kv("bytes", total_bytes);
    rep.kv("concurrency", args.concurrency);
    let big = args.feeds >= 10_000 && args.rules >= 1_000;
    let verdict = |ok: bool| if big { Some(ok) } else { None };

    // 4. Ingest in-process, next to feed-rs.
    if !args.skip_ingest && args.ingest_feeds > 0 {
        eprintln!("bench: ingest in-process on {} documents …", args.ingest_feeds);
        let sample: Vec<(FeedMeta, Arc<Vec<u8>>)> = metas
            .iter()
            .take(args.ingest_feeds)
            .map(|m| (m.clone(), Arc::clone(&server.docs.read().unwrap()[m.idx].body)))
            .collect();
        let ing = ingest(&rt, &workdir, &config_path, &sample);
        let ips = ing.items as f64 / ing.total.as_secs_f64();
        let frs = ing.feed_rs_items as f64 / ing.feed_rs.as_secs_f64();
        let pps = ing.items as f64 / ing.parse_only_pantau.as_secs_f64();
        let share = |d: Duration| 100.0 * d.as_secs_f64() / ing.total.as_secs_f64();
        rep.row(
            &format!(
                "ingest in-process, 1 thread ({} docs, {} items, {:.0} MB)",
                ing.docs,
                ing.items,
                ing.bytes as f64 / 1e6
            ),
            format!("{ips:.0} items/s"),
            "≥ feed-rs/2; ≥ 40× feedparser",
            Some(ips >= frs / 2.0),
        );
        rep.row(
            "  of which parse / match+alerts / store",
            format!("{:.0}% / {:.0}% / {:.0}%", share(ing.parse), share(ing.matching), share(ing.store)),
            "",
            None,
        );
        rep.row(
            "  alerts per item (items with ≥1 alert)",
            format!(
                "{:.3} ({:.1}%)",
                ing.alerts as f64 / ing.items.max(1) as f64,
                100.0 * ing.items_alerting as f64 / ing.items.max(1) as f64
            ),
            "",
            None,
        );
        rep.row("pantau parse-only (parse_feed), 1 thread", format!("{pps:.0} items/s"), "", None);
        rep.row(
            &format!(
                "feed-rs parse-only, 1 thread ({} items, {} rejected docs)",
                ing.feed_rs_items, ing.feed_rs_failed
            ),
            format!("{frs:.0} items/s"),
            "",
            None,
        );
        rep.row("ingest / feed-rs", format!("{:.2}×", ips / frs), "≥ 0.5×", Some(ips >= frs / 2.0));
        rep.kv("ingest_items", ing.items);
        rep.kv("ingest_docs", ing.docs);
        rep.kv("ingest_items_per_s", format!("{ips:.0}"));
        rep.kv("ingest_parse_pct", format!("{:.1}", share(ing.parse)));
        rep.kv("ingest_match_pct", format!("{:.1}", share(ing.matching)));
        rep.kv("ingest_store_pct", format!("{:.1}", share(ing.store)));
        rep.kv("ingest_alerts", ing.alerts);
        rep.kv("pantau_parse_items_per_s", format!("{pps:.0}"));
        rep.kv("feed_rs_items_per_s", format!("{frs:.0}"));
    }

    // 1–3. Three `once` cycles against the local server.
    if !args.skip_cycles {
        let mut max_seen = children_usage().maxrss;
        eprintln!("bench: cycle 1 (all new) …");
        server.reset_counters();
        let c1 = run_once(&args, &config_path, &workdir.join("cycle1.log"), &mut max_seen);
        let (ok1, nm1, posts1) = (
            server.ok.load(Ordering::SeqCst),
            server.not_modified.load(Ordering::SeqCst),
            server.posts.load(Ordering::SeqCst),
        );
        let poll_phase = server.first_post.lock().unwrap().map(|_| ());
        let _ = poll_phase;
        let delivery = match (*server.first_post.lock().unwrap(), *server.last_post.lock().unwrap()) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let field = |r: &RunResult, k: &str| r.report.as_ref().and_then(|v| v[k].as_u64()).unwrap_or(0);
        let ips = total_items as f64 / c1.wall.as_secs_f64();
        rep.row(
            &format!(
                "cycle 1 `once`, all new ({} feeds, {} items, {:.0} MB)",
                args.feeds,
                total_items,
                total_bytes as f64 / 1e6
            ),
            format!("{:.2} s{}", c1.wall.as_secs_f64(), if c1.ok { "" } else { " (exit ≠ 0)" }),
            "≤ 10 s",
            verdict(c1.wall <= Duration::from_secs(10)),
        );
        rep.row("  items/s", format!("{ips:.0}"), "", None);
        rep.row(
            "  peak RSS",
            format!("{:.1} MB", mb(c1.peak_rss_kb)),
            "≤ 150 MB",
            verdict(c1.peak_rss_kb <= 150 * 1024),
        );
        rep.row(
            "  CPU user + sys",
            format!(
                "{:.2} s + {:.2} s ({:.0}% of {cores} cores)",
                c1.user,
                c1.sys,
                100.0 * (c1.user + c1.sys) / c1.wall.as_secs_f64() / cores as f64
            ),
            "",
            None,
        );
        rep.row(
            "  new items / alerts queued / delivered (receiver)",
            format!(
                "{} / {} / {} ({} unique keys)",
                field(&c1, "new_items"),
                field(&c1, "new_alerts"),
                posts1,
                server.keys.lock().unwrap().len()
            ),
            "",
            None,
        );
        if let Some(d) = delivery {
            rep.row(
                "  delivery phase (first → last webhook)",
                format!("{:.2} s ({:.0} alerts/s)", d.as_secs_f64(), posts1 as f64 / d.as_secs_f64().max(1e-3)),
                "",
                None,
            );
            rep.kv("cycle1_delivery_s", format!("{:.3}", d.as_secs_f64()));
        }
        rep.row("  server: 200 / 304 answers", format!("{ok1} / {nm1}"), "", None);
        rep.kv("cycle1_wall_s", format!("{:.3}", c1.wall.as_secs_f64()));
        rep.kv("cycle1_items_per_s", format!("{ips:.0}"));
        rep.kv("cycle1_peak_rss_mb", format!("{:.1}", mb(c1.peak_rss_kb)));
        rep.kv("cycle1_cpu_user_s", format!("{:.2}", c1.user));
        rep.kv("cycle1_cpu_sys_s", format!("{:.2}", c1.sys));
        rep.kv("cycle1_new_items", field(&c1, "new_items"));
        rep.kv("cycle1_alerts", posts1);

        eprintln!("bench: cycle 2 (all 304) …");
        server.reset_counters();
        let c2 = run_once(&args, &config_path, &workdir.join("cycle2.log"), &mut max_seen);
        let (ok2, nm2) = (server.ok.load(Ordering::SeqCst), server.not_modified.load(Ordering::SeqCst));
        rep.row(
            "cycle 2 `once`, all 304",
            format!("{:.2} s{}", c2.wall.as_secs_f64(), if c2.ok { "" } else { " (exit ≠ 0)" }),
            "≤ 2 s",
            verdict(c2.wall <= Duration::from_secs(2)),
        );
        rep.row(
            "  peak RSS; CPU user + sys",
            format!("{:.1} MB; {:.2} s + {:.2} s", mb(c2.peak_rss_kb), c2.user, c2.sys),
            "",
            None,
        );
        rep.row("  server: 200 / 304 answers", format!("{ok2} / {nm2}"), "", None);
        rep.kv("cycle2_wall_s", format!("{:.3}", c2.wall.as_secs_f64()));
        rep.kv("cycle2_peak_rss_mb", format!("{:.1}", mb(c2.peak_rss_kb)));

        // Change every k-th feed: a new version adds items at the top.
        let every = (100.0 / args.changed_pct.max(0.01)).round().max(1.0) as usize;
        let changed: Vec<&FeedMeta> = metas.iter().filter(|m| m.idx % every == every / 2).collect();
        let mut added = 0;
        for m in &changed {
            let (body, _) = render_feed(&lex, args.seed, m, 1);
            added += m.step;
            let doc = Arc::new(Doc {
                body: Arc::new(body),
                etag: format!("\"v1-{}\"", m.idx),
                content_type: m.format.content_type(),
            });
            server.docs.write().unwrap()[m.idx] = doc;
        }
        eprintln!("bench: cycle 3 ({} feeds changed, {added} new items) …", changed.len());
        server.reset_counters();
        let c3 = run_once(&args, &config_path, &workdir.join("cycle3.log"), &mut max_seen);
        let (ok3, nm3, posts3) = (
            server.ok.load(Ordering::SeqCst),
            server.not_modified.load(Ordering::SeqCst),
            server.posts.load(Ordering::SeqCst),
        );
        rep.row(
            &format!("cycle 3 `once`, {} feeds changed ({added} new items)", changed.len()),
            format!("{:.2} s{}", c3.wall.as_secs_f64(), if c3.ok { "" } else { " (exit ≠ 0)" }),
            "",
            None,
        );
        rep.row("  new items / alerts at the receiver", format!("{} / {posts3}", field(&c3, "new_items")), "", None);
        rep.row(
            "  peak RSS; CPU user + sys",
            format!("{:.1} MB; {:.2} s + {:.2} s", mb(c3.peak_rss_kb), c3.user, c3.sys),
            "",
            None,
        );
        rep.row("  server: 200 / 304 answers", format!("{ok3} / {nm3}"), "", None);
        rep.kv("cycle3_wall_s", format!("{:.3}", c3.wall.as_secs_f64()));
        rep.kv("cycle3_changed_feeds", changed.len());
        rep.kv("cycle3_new_items", field(&c3, "new_items"));
        rep.kv("cycle3_alerts", posts3);
    }

    // 6. The article stage.
    if args.articles {
        articles(&args, &server, &metas, &rules, port, &workdir, &mut rep);
    }

    // 5. The idle daemon.
    if !args.skip_idle {
        let dir = workdir.join("idle");
        std::fs::create_dir_all(&dir).expect("idle dir");
        let cfg = dir.join("pantau.toml");
        write_config(&cfg, port, &metas[..args.idle_feeds], &rules, args.concurrency, None);
        eprintln!(
            "bench: idle daemon with {} feeds for {} …",
            args.idle_feeds,
            humantime::format_duration(args.idle_wait)
        );
        let mut child = pantau_command(&args, &cfg, &dir.join("run.log"))
            .arg("run")
            .spawn()
            .unwrap_or_else(|e| die(&format!("cannot start pantau: {e}")));
        let pid = child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = sampler(pid, Arc::clone(&stop));
        let deadline = Instant::now() + args.idle_wait;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                die("the idle daemon exited early; see its log");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let rss = proc_kb(pid, "VmRSS:").unwrap_or(0);
        let hwm = proc_kb(pid, "VmHWM:").unwrap_or(0);
        // Anonymous memory (heap, stacks) apart from file pages (the binary's code and
        // read-only data, shared libraries: clean, and reclaimable by the kernel).
        let (anon, file) = (proc_kb(pid, "RssAnon:").unwrap_or(0), proc_kb(pid, "RssFile:").unwrap_or(0));
        stop.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        // SAFETY: plain kill(2) on our own child.
        unsafe { kill(pid as i32, SIGTERM) };
        let status = child.wait().expect("wait for the daemon");
        rep.row(
            &format!("idle `run`, {} feeds, after {}", args.idle_feeds, humantime::format_duration(args.idle_wait)),
            format!("{:.1} MB RSS (peak {:.1} MB)", mb(rss), mb(hwm)),
            "≤ 15 MB",
            Some(rss <= 15 * 1024),
        );
        rep.row("  of which anonymous / file-backed", format!("{:.1} MB / {:.1} MB", mb(anon), mb(file)), "", None);
        rep.row("  exit after SIGTERM", format!("{status}"), "0", Some(status.success()));
        rep.kv("idle_rss_mb", format!("{:.1}", mb(rss)));
        rep.kv("idle_anon_mb", format!("{:.1}", mb(anon)));
        rep.kv("idle_file_mb", format!("{:.1}", mb(file)));
        rep.kv("idle_peak_mb", format!("{:.1}", mb(hwm)));
    }

    // The table.
    let mut out = String::new();
    out.push_str(&format!(
        "\n### pantau pipeline benchmark\n\nmachine: {cores} cores ({cpu}), {ram} RAM; {} feeds, {} rules, seed {}\n",
        args.feeds, args.rules, args.seed
    ));
    out.push_str(&format!(
        "[daemon] concurrency = per_host = {}: every feed is served by one host (127.0.0.1), so per_host must equal concurrency or it would be the limit.\n\n",
        args.concurrency
    ));
    out.push_str("| measurement | value | target | |\n|---|---|---|---|\n");
    for (a, b, c, d) in &rep.rows {
        out.push_str(&format!("| {a} | {b} | {c} | {d} |\n"));
    }
    if !big {
        out.push_str("\n(Cycle targets apply to 10,000 feeds and 1,000 rules; not judged at this size.)\n");
    }
    println!("{out}");
    let _ = std::io::stdout().flush();
    if let Some(path) = &args.results {
        let text: String = rep.kv.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(path, text).unwrap_or_else(|e| die(&format!("cannot write {}: {e}", path.display())));
    }
    eprintln!("bench: logs and databases in {}", workdir.display());
}
