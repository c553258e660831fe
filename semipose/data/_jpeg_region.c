/* Region-of-interest JPEG decoding with libjpeg-turbo, called through ctypes
   (semipose/data/jpeg_region.py).

   A person crop usually needs a fraction of the picture. libjpeg-turbo can skip the inverse DCT,
   upsampling and colour conversion of the rows above the region (jpeg_skip_scanlines) and of the
   iMCU columns beside it (jpeg_crop_scanline), and stop after its last row; with DCT scaling
   (scale_denom 2, 4, 8) the region is decoded at reduced size as well. The pixels inside the
   region are the ones a full decode gives (tests/test_jpeg_region.py).

   Plain C, no Python headers: any failure (corrupt data, a colour space libjpeg cannot turn into
   RGB, a region outside the image) returns non-zero with a message, and the caller falls back to
   its full decoder, which reports the file properly. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf escape;
  char *message;
  size_t message_size;
} error_handler;

static void stop_with_message(j_common_ptr info) {
  error_handler *handler = (error_handler *)info->err;
  char text[JMSG_LENGTH_MAX];
  (*info->err->format_message)(info, text);
  snprintf(handler->message, handler->message_size, "%s", text);
  longjmp(handler->escape, 1);
}

/* libjpeg only warns about corrupt data (and pads with grey); treat that as failure so a damaged
   file reaches the checked decoder instead of becoming a silently wrong crop. */
static void stop_on_warning(j_common_ptr info, int level) {
  if (level < 0) stop_with_message(info);
}

/* Decode rows y .. y+height-1, columns x .. x+width-1 of the image scaled by 1/scale_denom into
   `out` (height x width x 3 RGB, row-major). The region must lie inside the scaled image, whose
   size is ceil(W / scale_denom) x ceil(H / scale_denom). Returns 0 on success. */
int semipose_decode_jpeg_region(const unsigned char *data, unsigned long size, int scale_denom,
                                int x, int y, int width, int height, unsigned char *out,
                                char *message, size_t message_size) {
  struct jpeg_decompress_struct info;
  error_handler handler;
  volatile int status = 1;  /* volatile: set between setjmp and a possible longjmp */

  info.err = jpeg_std_error(&handler.base);
  handler.base.error_exit = stop_with_message;
  handler.base.emit_message = stop_on_warning;
  handler.message = message;
  handler.message_size = message_size;
  jpeg_create_decompress(&info);
  if (setjmp(handler.escape)) {
    jpeg_destroy_decompress(&info);
    return 1;
  }

  jpeg_mem_src(&info, data, size);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  info.scale_num = 1;
  info.scale_denom = (unsigned int)scale_denom;
  jpeg_start_decompress(&info);
  if (info.output_components != 3 || x < 0 || y < 0 || width <= 0 || height <= 0 ||
      (JDIMENSION)(x + width) > info.output_width || (JDIMENSION)(y + height) > info.output_height) {
    snprintf(message, message_size, "region %dx%d at (%d, %d) is not inside the %ux%u image",
             width, height, x, y, info.output_width, info.output_height);
  } else {
    /* The decoded columns get one more on each side: a column at the edge of a cropped decode is
       upsampled as an image edge (its chroma neighbour missing), one further in is exact.
       jpeg_crop_scanline then widens them to whole iMCUs; the row buffer holds that width and the
       requested part is copied out. The row lives in libjpeg's pool, freed with the decompressor. */
    JDIMENSION first_column = (JDIMENSION)(x > 0 ? x - 1 : 0);
    JDIMENSION columns = (JDIMENSION)(x + width + 1) - first_column;
    JSAMPARRAY row;
    int r;
    if (first_column + columns > info.output_width) columns = info.output_width - first_column;
    jpeg_crop_scanline(&info, &first_column, &columns);
    row = (*info.mem->alloc_sarray)((j_common_ptr)&info, JPOOL_IMAGE, columns * 3, 1);
    if (y > 0) jpeg_skip_scanlines(&info, (JDIMENSION)y);
    for (r = 0; r < height; r++) {
      jpeg_read_scanlines(&info, row, 1);
      memcpy(out + (size_t)r * width * 3, row[0] + (size_t)(x - first_column) * 3, (size_t)width * 3);
    }
    status = 0;
  }
  jpeg_destroy_decompress(&info);
  return status;
}
