#ifndef SBRT_CPNGSHIM_H
#define SBRT_CPNGSHIM_H

// setjmp guards around the libpng write calls that can fail.
//
// libpng reports an error by calling the error callback and then longjmp-ing to the
// jmp_buf of the png struct. A longjmp must never cross a Swift frame, so Swift never
// calls a failing libpng function directly: it calls the wrappers below, each of which
// does setjmp in its own (C) frame and then makes exactly one libpng call. When libpng
// fails, control returns to that frame, the wrapper returns 0, and the message is in
// the error sink given to sbrt_png_create_write_struct. After a failure the png struct
// may only be destroyed.
//
// The write and flush callbacks that Swift installs with png_set_write_fn run inside
// these guarded calls; they must return normally and must never call png_error, so
// that a longjmp only ever unwinds C frames (libpng and zlib).

#include <png.h>
#include <zlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Where the error callback leaves the message of the error that stopped libpng.
typedef struct sbrt_png_error_sink {
    /// NUL-terminated message; empty while no error has occurred.
    char message[256];
} sbrt_png_error_sink;

/// Wraps png_create_write_struct with an error callback that copies the message into
/// `sink` and longjmps to the active guard (nothing is printed), and a warning callback
/// that ignores warnings. `sink` must outlive the struct. Returns NULL if out of memory
/// or if the libpng library does not match the header.
png_structp sbrt_png_create_write_struct(sbrt_png_error_sink *sink);

/// Sets the user limits to the PNG maximum (2^31 - 1 per side), the zlib level and
/// strategy, and the row filters. Returns 1 on success, 0 if libpng failed.
int sbrt_png_configure(png_structp png, int compression_level, int zlib_strategy, int filters);

/// Guarded png_set_IHDR (no interlace, default compression and filter methods).
int sbrt_png_set_IHDR(png_structp png, png_infop info, png_uint_32 width, png_uint_32 height,
                      int bit_depth, int color_type);

/// Guarded png_set_text.
int sbrt_png_set_text(png_structp png, png_infop info, png_const_textp text, int count);

/// Guarded png_write_info.
int sbrt_png_write_info(png_structp png, png_infop info);

/// Guarded png_write_rows.
int sbrt_png_write_rows(png_structp png, png_bytepp rows, png_uint_32 count);

/// Guarded png_write_end.
int sbrt_png_write_end(png_structp png, png_infop info);

#ifdef __cplusplus
}
#endif

#endif
