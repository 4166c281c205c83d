/* The floor a one-shot register read is measured against in
 * benches/oneshot.sh: what devmem and pcimem do for one read, written here
 * (not their code): open a BAR's resource file, mmap it, one volatile 32-bit
 * load, print the value. Usage: mmio_read RESOURCE_FILE OFFSET */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s RESOURCE_FILE OFFSET\n", argv[0]);
        return 2;
    }
    unsigned long offset = strtoul(argv[2], NULL, 0);
    int fd = open(argv[1], O_RDONLY | O_SYNC);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || offset + 4 > (unsigned long)st.st_size) {
        fprintf(stderr, "offset outside the file\n");
        return 1;
    }
    void *map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    uint32_t value = *(volatile uint32_t *)((char *)map + offset);
    printf("0x%08x\n", value);
    munmap(map, st.st_size);
    close(fd);
    return 0;
}
