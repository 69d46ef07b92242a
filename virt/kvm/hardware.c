// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware virtualization on every CPU: turned on for all online CPUs at
 * module load, for each CPU that comes online afterwards, and off again when
 * a CPU goes offline, on reboot and at module unload.
 *
 * Crash and emergency reboots: on the kernels kvmfork is built for (6.1), the
 * kernel's own crash/emergency-restart path turns SVM off on every CPU that
 * supports it, whoever turned it on, so nothing needs registering for that.
 * The orderly reboot and kexec paths do not, hence the reboot notifier.
 */
#define pr_fmt(fmt) "kvmfork: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/reboot.h>
#include <linux/smp.h>

#include <kvmfork/arch_ops.h>
#include <kvmfork/kvmf_host.h>

static enum cpuhp_state kvmf_cpuhp_state;

static int kvmf_cpu_online(unsigned int cpu)
{
	return kvmf_arch_ops.cpu_enable();
}

static int kvmf_cpu_offline(unsigned int cpu)
{
	kvmf_arch_ops.cpu_disable();
	return 0;
}

static void kvmf_cpu_disable_ipi(void *unused)
{
	kvmf_arch_ops.cpu_disable();
}

static int kvmf_reboot_notify(struct notifier_block *nb, unsigned long action, void *unused)
{
	on_each_cpu(kvmf_cpu_disable_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block kvmf_reboot_nb = {
	.notifier_call = kvmf_reboot_notify,
};

int kvmf_hardware_enable_all(void)
{
	int r;

	/*
	 * Runs the online callback on every online CPU now; if one fails, the
	 * CPUs already done are rolled back through the offline callback.
	 */
	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kvmfork:online", kvmf_cpu_online,
			      kvmf_cpu_offline);
	if (r < 0) {
		pr_err("cannot enable %s virtualization on every CPU (%d): is another hypervisor such as kvm_amd running guests?\n",
		       kvmf_arch_ops.name, r);
		return r;
	}
	kvmf_cpuhp_state = r;

	register_reboot_notifier(&kvmf_reboot_nb);
	return 0;
}

void kvmf_hardware_disable_all(void)
{
	unregister_reboot_notifier(&kvmf_reboot_nb);
	cpuhp_remove_state(kvmf_cpuhp_state);
}
