// Keeps the public API's entries in a compiled assembly's XML documentation file (the one the
// package ships) and drops those of internal and private members: the compiler writes every
// documented member, and the library documents its internals for its maintainers.
// Usage: dotnet run --file build/PublicXmlDocs.cs -- Repro.dll Repro.xml   (rewrites Repro.xml in place)
// Run by src/Repro/Repro.csproj (target PublicXmlDocs) on Release builds, which is what `dotnet pack` ships.
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

if (args.Length != 2) { Console.Error.WriteLine("usage: PublicXmlDocs.cs ASSEMBLY XMLDOC"); return 2; }
using var pe = new PEReader(File.OpenRead(args[0]));
var md = pe.GetMetadataReader();

// Doc-comment names of the types a consumer sees ("Ns.Outer.Inner`1"), and their visible members by name.
var names = new Dictionary<TypeDefinitionHandle, string>();
var visible = new HashSet<string>();
var members = new HashSet<(string Type, string Member)>();
string Name(TypeDefinitionHandle h)
{
    if (names.TryGetValue(h, out var known)) return known;
    var t = md.GetTypeDefinition(h);
    var declaring = t.GetDeclaringType();
    string name = declaring.IsNil
        ? (t.Namespace.IsNil || md.GetString(t.Namespace).Length == 0 ? "" : md.GetString(t.Namespace) + ".") + md.GetString(t.Name)
        : Name(declaring) + "." + md.GetString(t.Name);
    return names[h] = name;
}
bool Visible(TypeDefinitionHandle h)
{
    var t = md.GetTypeDefinition(h);
    var v = t.Attributes & TypeAttributes.VisibilityMask;
    var declaring = t.GetDeclaringType();
    return declaring.IsNil ? v == TypeAttributes.Public
        : (v == TypeAttributes.NestedPublic || v == TypeAttributes.NestedFamily || v == TypeAttributes.NestedFamORAssem) && Visible(declaring);
}
static bool Seen(MethodAttributes a) => (a & MethodAttributes.MemberAccessMask) is MethodAttributes.Public or MethodAttributes.Family or MethodAttributes.FamORAssem;
foreach (var h in md.TypeDefinitions)
{
    if (!Visible(h)) continue;
    string type = Name(h);
    visible.Add(type);
    var t = md.GetTypeDefinition(h);
    foreach (var m in t.GetMethods())
    {
        var method = md.GetMethodDefinition(m);
        if (Seen(method.Attributes)) members.Add((type, md.GetString(method.Name).Replace('.', '#')));
    }
    foreach (var f in t.GetFields())
    {
        var field = md.GetFieldDefinition(f);
        if ((field.Attributes & FieldAttributes.FieldAccessMask) is FieldAttributes.Public or FieldAttributes.Family or FieldAttributes.FamORAssem)
            members.Add((type, md.GetString(field.Name)));
    }
    foreach (var p in t.GetProperties())
    {
        var property = md.GetPropertyDefinition(p);
        var accessors = property.GetAccessors();
        if (new[] { accessors.Getter, accessors.Setter }.Any(a => !a.IsNil && Seen(md.GetMethodDefinition(a).Attributes)))
            members.Add((type, md.GetString(property.Name)));
    }
    foreach (var e in t.GetEvents())
    {
        var ev = md.GetEventDefinition(e);
        var accessors = ev.GetAccessors();
        if (new[] { accessors.Adder, accessors.Remover }.Any(a => !a.IsNil && Seen(md.GetMethodDefinition(a).Attributes)))
            members.Add((type, md.GetString(ev.Name)));
    }
}

// "M:Ns.Type.Method``1(System.Int32)" -> ("Ns.Type", "Method"): overloads share the decision (an
// internal overload of a public method keeps its entry; there is none in this library today).
bool Keep(string id)
{
    if (id.Length < 3 || id[1] != ':') return true;
    string body = id[2..];
    if (id[0] == 'T') return visible.Contains(body);
    int paren = body.IndexOf('(');
    if (paren >= 0) body = body[..paren];
    int dot = body.LastIndexOf('.');
    if (dot < 0) return false;
    string member = body[(dot + 1)..];
    int arity = member.IndexOf("``", StringComparison.Ordinal);
    if (arity >= 0) member = member[..arity];
    return members.Contains((body[..dot], member));
}

var doc = XDocument.Load(args[1]);
var all = doc.Root!.Element("members")!.Elements("member").ToList();
int dropped = 0;
foreach (var member in all)
    if (!Keep((string?)member.Attribute("name") ?? "")) { member.Remove(); dropped++; }
doc.Save(args[1]);
Console.WriteLine($"PublicXmlDocs: {Path.GetFileName(args[1])} keeps {all.Count - dropped} public entries of {all.Count} ({dropped} internal or private dropped)");
return 0;
