//! Print how the analyzers tokenize each argument (debugging aid).
//!
//! Usage: `cargo run -p search --example analyze -- "圖書館學導論" "Libraries of d'Oujon"`

#![allow(clippy::print_stdout, reason = "a command-line tool: printing is its job")]

fn main() {
    for text in std::env::args().skip(1) {
        println!("{text}");
        println!("  normalized: {}", search::analysis::normalize(&text));
        println!("  words:      {:?}", search::analysis::words_tokens(&text));
        println!("  seq:        {:?}", search::analysis::seq_tokens(&text));
        println!("  plain key:  {:?}", search::analysis::plain_key(&text));
    }
}
