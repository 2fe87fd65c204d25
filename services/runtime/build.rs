// `sqlx::migrate!` embeds the files it finds; a new migration file must
// rebuild the crate too.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
