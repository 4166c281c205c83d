/* The floor mmiodrv's reads are measured against in benches/oneshot.sh:
 * what devmem and pcimem do for one read, written here (not their code):
 * open a BAR's resource file, mmap it, volatile 32-bit loads, print the last
 * value. With COUNT, COUNT loads of the same register (the raw floor a batch
 * of reads is compared with).
 *
 *   mmio_read RESOURCE_FILE OFFSET [COUNT] */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s RESOURCE_FILE OFFSET [COUNT]\n", argv[0]);
        return 2;
    }
    unsigned long offset = strtoul(argv[2], NULL, 0);
    unsigned long count = argc == 4 ? strtoul(argv[3], NULL, 0) : 1;
    int fd = open(argv[1], O_RDONLY | O_SYNC);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || offset % 4 || offset + 4 > (unsigned long)st.st_size) {
        fprintf(stderr, "offset outside the file or unaligned\n");
        return 1;
    }
    void *map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    volatile uint32_t *reg = (volatile uint32_t *)((char *)map + offset);
    uint32_t value = 0;
    for (unsigned long i = 0; i < count; i++)
        value = *reg;
    printf("0x%08x\n", value);
    munmap(map, st.st_size);
    close(fd);
    return 0;
}
