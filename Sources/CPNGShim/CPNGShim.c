#include "CPNGShim.h"

#include <setjmp.h>
#include <string.h>

static void sbrt_png_error(png_structp png, png_const_charp message) {
    sbrt_png_error_sink *sink = (sbrt_png_error_sink *)png_get_error_ptr(png);
    if (sink != NULL) {
        strncpy(sink->message, message != NULL ? message : "unknown libpng error",
                sizeof sink->message - 1);
        sink->message[sizeof sink->message - 1] = '\0';
    }
    // Jump to the guard of the current wrapper ourselves: if this callback returned,
    // png_error would call png_default_error, which prints to standard error first.
    png_longjmp(png, 1);
}

static void sbrt_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

png_structp sbrt_png_create_write_struct(sbrt_png_error_sink *sink) {
    if (sink != NULL) sink->message[0] = '\0';
    return png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, sbrt_png_error, sbrt_png_warning);
}

int sbrt_png_configure(png_structp png, int compression_level, int zlib_strategy, int filters) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_compression_level(png, compression_level);
    png_set_compression_strategy(png, zlib_strategy);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filters);
    return 1;
}

int sbrt_png_set_IHDR(png_structp png, png_infop info, png_uint_32 width, png_uint_32 height,
                      int bit_depth, int color_type) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_set_IHDR(png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    return 1;
}

int sbrt_png_set_text(png_structp png, png_infop info, png_const_textp text, int count) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_set_text(png, info, text, count);
    return 1;
}

int sbrt_png_write_info(png_structp png, png_infop info) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_write_info(png, info);
    return 1;
}

int sbrt_png_write_rows(png_structp png, png_bytepp rows, png_uint_32 count) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_write_rows(png, rows, count);
    return 1;
}

int sbrt_png_write_end(png_structp png, png_infop info) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_write_end(png, info);
    return 1;
}
