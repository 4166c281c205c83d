/* The floor for the library's interrupt and DMA costs (issue 27): the same
 * work as examples/vfio_costs.rs, straight on the kernel's VFIO interface
 * (container, group, device fd, mmap of BAR0, eventfds through
 * VFIO_DEVICE_SET_IRQS, VFIO_IOMMU_MAP_DMA), nothing else in between.
 *
 *   vfio_costs irq DEVICE COUNT             edu: IRQ_RAISE, then the thread
 *                                           waiting on the MSI's eventfd wakes
 *                                           (time from the raise to its wake-up)
 *   vfio_costs pingpong DEVICE PEER COUNT ping|pong
 *                                           ivshmem-doorbell: ring PEER's vector
 *                                           0, wait for ours (MSI-X); the pong
 *                                           side rings back (ping: round trips)
 *   vfio_costs dmamap DEVICE COUNT SIZE     COUNT buffers of SIZE bytes: mmap
 *                                           and VFIO_IOMMU_MAP_DMA each, then
 *                                           VFIO_IOMMU_UNMAP_DMA and munmap each
 *
 * Each prints one line of key=value: latencies in microseconds (min,
 * median, p90), or the cost per buffer of mapping and of unmapping.
 * The device must be bound to vfio-pci. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    exit(1);
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

struct vfio {
    int container, group, device;
    volatile uint32_t *bar0;
    uint64_t config_offset;
};

static struct vfio open_device(const char *address) {
    struct vfio v;
    char path[300], link[256];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", address);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0)
        die(path);
    link[n] = 0;
    const char *group = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
    v.container = open("/dev/vfio/vfio", O_RDWR);
    if (v.container < 0)
        die("/dev/vfio/vfio");
    snprintf(path, sizeof path, "/dev/vfio/%s", group);
    v.group = open(path, O_RDWR);
    if (v.group < 0)
        die(path);
    struct vfio_group_status status = {.argsz = sizeof status};
    if (ioctl(v.group, VFIO_GROUP_GET_STATUS, &status) < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
        die("VFIO group not viable");
    if (ioctl(v.group, VFIO_GROUP_SET_CONTAINER, &v.container) < 0)
        die("VFIO_GROUP_SET_CONTAINER");
    if (ioctl(v.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
        ioctl(v.container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
        die("VFIO_SET_IOMMU");
    v.device = ioctl(v.group, VFIO_GROUP_GET_DEVICE_FD, address);
    if (v.device < 0)
        die("VFIO_GROUP_GET_DEVICE_FD");
    struct vfio_region_info bar = {.argsz = sizeof bar, .index = VFIO_PCI_BAR0_REGION_INDEX};
    if (ioctl(v.device, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0)
        die("VFIO_DEVICE_GET_REGION_INFO");
    void *p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, v.device, bar.offset);
    if (p == MAP_FAILED)
        die("mmap BAR0");
    v.bar0 = p;
    struct vfio_region_info cfg = {.argsz = sizeof cfg, .index = VFIO_PCI_CONFIG_REGION_INDEX};
    if (ioctl(v.device, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0)
        die("VFIO_DEVICE_GET_REGION_INFO config");
    v.config_offset = cfg.offset;
    return v;
}

/* Bus master on: MSI and MSI-X are memory writes by the device. */
static void bus_master(struct vfio *v) {
    uint16_t cmd;
    if (pread(v->device, &cmd, 2, v->config_offset + 4) != 2)
        die("read COMMAND");
    cmd |= 4;
    if (pwrite(v->device, &cmd, 2, v->config_offset + 4) != 2)
        die("write COMMAND");
}

static int arm(struct vfio *v, unsigned index) {
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0)
        die("eventfd");
    char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
    struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
    *set = (struct vfio_irq_set){.argsz = sizeof buf,
                                 .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                                 .index = index,
                                 .start = 0,
                                 .count = 1};
    memcpy(set->data, &fd, sizeof fd);
    if (ioctl(v->device, VFIO_DEVICE_SET_IRQS, set) < 0)
        die("VFIO_DEVICE_SET_IRQS");
    bus_master(v);
    return fd;
}

static void wait_fd(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, 5000);
        if (r > 0)
            break;
        if (r == 0) {
            fprintf(stderr, "vfio_costs: no interrupt in 5 s\n");
            exit(1);
        }
        if (errno != EINTR)
            die("poll");
    }
    uint64_t count;
    if (read(fd, &count, sizeof count) != sizeof count)
        die("read eventfd");
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *lat, long n) {
    qsort(lat, n, sizeof *lat, cmp);
    printf("%s count=%ld min_us=%.2f median_us=%.2f p90_us=%.2f\n", what, n, lat[0], lat[n / 2], lat[n * 9 / 10]);
}

/* ---- edu: IRQ_RAISE (0x60), IRQ_ACK (0x64) */
struct waiter {
    struct vfio *v;
    int irq, back;
    long count;
    double *woke;
};

static void *edu_waiter(void *arg) {
    struct waiter *w = arg;
    for (long i = 0; i < w->count; i++) {
        wait_fd(w->irq);
        w->woke[i] = now_us();
        w->v->bar0[0x64 / 4] = 1; /* IRQ_ACK */
        uint64_t one = 1;
        if (write(w->back, &one, sizeof one) != sizeof one)
            die("write back");
    }
    return NULL;
}

static int do_irq(const char *address, long count) {
    struct vfio v = open_device(address);
    int irq = arm(&v, VFIO_PCI_MSI_IRQ_INDEX);
    int back = eventfd(0, EFD_CLOEXEC);
    double *raised = calloc(count, sizeof(double)), *woke = calloc(count, sizeof(double));
    struct waiter w = {.v = &v, .irq = irq, .back = back, .count = count, .woke = woke};
    pthread_t t;
    pthread_create(&t, NULL, edu_waiter, &w);
    for (long i = 0; i < count; i++) {
        raised[i] = now_us();
        v.bar0[0x60 / 4] = 1; /* IRQ_RAISE */
        wait_fd(back);
    }
    pthread_join(t, NULL);
    for (long i = 0; i < count; i++)
        woke[i] -= raised[i];
    report("irq", woke, count);
    return 0;
}

/* ---- ivshmem-doorbell: DOORBELL (0x0c) = peer << 16 | vector */
static int do_pingpong(const char *address, long peer, long count, const char *role) {
    struct vfio v = open_device(address);
    int irq = arm(&v, VFIO_PCI_MSIX_IRQ_INDEX);
    int ping = strcmp(role, "ping") == 0;
    if (!ping) {
        printf("ready\n");
        fflush(stdout);
    }
    double *rtt = calloc(count, sizeof(double));
    for (long i = 0; i < count; i++) {
        if (ping) {
            double t0 = now_us();
            v.bar0[0x0c / 4] = (uint32_t)peer << 16;
            wait_fd(irq);
            rtt[i] = now_us() - t0;
        } else {
            wait_fd(irq);
            v.bar0[0x0c / 4] = (uint32_t)peer << 16;
        }
    }
    if (ping)
        report("pingpong", rtt, count);
    return 0;
}

/* ---- DMA: mmap + VFIO_IOMMU_MAP_DMA per buffer, then the reverse */
static int do_dmamap(const char *address, long count, long size) {
    struct vfio v = open_device(address);
    void **bufs = calloc(count, sizeof(void *));
    uint64_t iova = 0x100000, stride = (size + 4095) / 4096 * 4096;
    double t0 = now_us();
    for (long i = 0; i < count; i++) {
        bufs[i] = mmap(NULL, stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (bufs[i] == MAP_FAILED)
            die("mmap");
        struct vfio_iommu_type1_dma_map map = {.argsz = sizeof map,
                                               .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                               .vaddr = (uintptr_t)bufs[i],
                                               .iova = iova + i * stride,
                                               .size = stride};
        if (ioctl(v.container, VFIO_IOMMU_MAP_DMA, &map) < 0)
            die("VFIO_IOMMU_MAP_DMA");
    }
    double t1 = now_us();
    for (long i = 0; i < count; i++) {
        struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof unmap, .iova = iova + i * stride, .size = stride};
        if (ioctl(v.container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
            die("VFIO_IOMMU_UNMAP_DMA");
        munmap(bufs[i], stride);
    }
    double t2 = now_us();
    printf("dmamap count=%ld size=%ld map_us=%.2f unmap_us=%.2f\n", count, size, (t1 - t0) / count,
           (t2 - t1) / count);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "irq") == 0)
        return do_irq(argv[2], strtol(argv[3], NULL, 0));
    if (argc == 6 && strcmp(argv[1], "pingpong") == 0)
        return do_pingpong(argv[2], strtol(argv[3], NULL, 0), strtol(argv[4], NULL, 0), argv[5]);
    if (argc == 5 && strcmp(argv[1], "dmamap") == 0)
        return do_dmamap(argv[2], strtol(argv[3], NULL, 0), strtol(argv[4], NULL, 0));
    fprintf(stderr,
            "usage: %s irq DEVICE COUNT | pingpong DEVICE PEER COUNT ping|pong | dmamap DEVICE COUNT SIZE\n",
            argv[0]);
    return 2;
}
