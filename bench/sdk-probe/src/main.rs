fn main() {
    let _builder = matrix_sdk::Client::builder();
}
