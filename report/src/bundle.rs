//! Reading a bundle: stream the tar.gz, never extract, never trust names, cap decompression.
