using System.Net;
using System.Text.RegularExpressions;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// The dashboard's modules, split by role (js/views/admin.js, country.js, vendor.js over a shared
/// module): every module main.js reaches, through imports and re-exports in any folder, is served
/// by the hub as JavaScript.
/// </summary>
public sealed partial class DashboardModulesTests
{
    [Fact]
    public async Task Every_module_main_reaches_is_served_and_each_role_has_its_own()
    {
        await using var hub = await TestHub.StartAsync();

        var pending = new Queue<Uri>([new Uri(hub.BaseAddress, "/dashboard/js/main.js")]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryDequeue(out var module))
        {
            if (!seen.Add(module.AbsolutePath))
            {
                continue;
            }
            using var response = await hub.Client.GetAsync(module);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{module.AbsolutePath}: {(int)response.StatusCode}");
            Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
            foreach (Match import in ModuleReferences().Matches(await response.Content.ReadAsStringAsync()))
            {
                // Relative to the importing module, as the browser resolves it.
                pending.Enqueue(new Uri(module, import.Groups["path"].Value));
            }
        }

        foreach (var module in new[] { "views.js", "views/shared.js", "views/cards.js", "views/admin.js", "views/country.js", "views/vendor.js" })
        {
            Assert.Contains("/dashboard/js/" + module, seen);
        }
    }

    /// <summary><c>import … from './x.js'</c> and <c>export { … } from '../y/z.js'</c>.</summary>
    [GeneratedRegex(@"^(?:import|export)\b[^;]*?\bfrom '(?<path>\.{1,2}/[^']+\.js)'", RegexOptions.Multiline)]
    private static partial Regex ModuleReferences();
}
